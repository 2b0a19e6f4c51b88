"""Cross-cutting pieces every area uses: database base, errors, audit chain, event log, API plumbing."""
