"""Digital signatures: test PKI, PAdES signing with the Decree 30 visible form, and verification.

Pure computation: nothing here imports Flask or the database, so the app, the CLI, the demo seeder and the
benchmarks call the same functions, and the tests run without an app.

- ``pki``: certificates and PKCS#12 files (``SignerIdentity``, ``CertificateError``).
- ``pades``: ``sign_document`` (distributed documents), ``prepare_fields`` + ``sign_field`` (minutes, signed in turn).
- ``verify``: ``verify_pdf`` (our verdict) and ``pdfsig_report`` (poppler, as a second opinion).
"""
