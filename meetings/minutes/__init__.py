"""Minutes (biên bản): the secretary's notes, the assembled record, its PDF, signatures and the archive."""
