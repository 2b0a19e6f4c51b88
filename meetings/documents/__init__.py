"""Documents: untrusted PDF intake (``intake``, ``sanitize``) and content-addressed storage (``blobstore``).

The modules here import nothing from Flask or the database; the upload endpoint wires them in.
"""
