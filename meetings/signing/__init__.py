"""Digital signatures: test PKI, PAdES signing with the Decree 30 visible form, and verification.

Pure computation: nothing here imports Flask or the database, so the app, the CLI, the demo seeder and the
benchmarks call the same functions, and the tests run without an app.

- ``pki``: certificates and PKCS#12 files (``SignerIdentity``, ``CertificateError``).
- ``pades``: ``sign_document`` (distributed documents), ``prepare_fields`` + ``sign_field`` (minutes, signed in turn).
- ``verify``: ``verify_pdf`` (our verdict) and ``pdfsig_report`` (poppler, as a second opinion).
- ``forms``: the minutes' visible signatures (``OfficialSignature``, ``SealSignature``); ``images``: checking
  uploaded signature/seal PNGs and drawing demo ones.
- ``external``: ``prepare_external`` + ``finish_external``, for keys that stay on the signer's device;
  ``client``: the command line that signs on that device (``python -m meetings.signing.client``).
"""
