"""Votes (biểu quyết): named and secret polls, ballots that are never lost or doubled, rules and receipts."""
