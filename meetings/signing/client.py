"""Sign the minutes with a key that never leaves the signer's machine (USB token, smart card or PKCS#12 file).

    python -m meetings.signing.client --server https://phonghop.example.vn --username thuky --meeting 42 \\
        --pkcs11-lib /usr/lib/softhsm/libsofthsm2.so --token-label "Token" --key-label "Chữ ký" --pin-stdin

The server prepares the minutes and sends the bytes to sign (the CMS signed attributes); they are signed
here, with SHA-256 and RSA PKCS#1 v1.5 or ECDSA, and only the signature goes back. Secrets (password,
passphrase, PIN) are read from standard input with ``--…-stdin``, one per line in the order password,
passphrase/PIN, or asked for interactively.

The signing half — ``load_p12_signer``, ``load_pkcs11_signer`` and ``LocalSigner`` — works without the
network. Exit status: 0 signed, 1 refused or failed (one line on stderr says why), 2 wrong arguments.
"""
from __future__ import annotations

import abc

import argparse
import base64
import binascii
import getpass
import hashlib
import sys
from pathlib import Path
from typing import IO, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from meetings.signing.pki import CertificateError, PrivateKey, load_certificates, load_pkcs12, name_attribute

MECHANISMS = ("rsassa_pkcs1v15", "ecdsa")
# DER prefix of DigestInfo{sha256, digest}: what CKM_RSA_PKCS needs when the token cannot hash.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
HTTP_TIMEOUT = 60


class LocalSigner(abc.ABC):
    """A private key on this machine and its certificate chain (the signer's certificate first)."""

    def __init__(self, certificates: list[x509.Certificate]) -> None:
        if not certificates:
            raise CertificateError("no certificate for the key")
        self.certificates = certificates

    @property
    def certificate(self) -> x509.Certificate:
        return self.certificates[0]

    @property
    def common_name(self) -> str:
        return name_attribute(self.certificate.subject, x509.NameOID.COMMON_NAME) or ""

    def certificates_pem(self) -> str:
        """The signer's certificate then its chain, PEM, as the server wants them."""
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in self.certificates)

    def sign(self, to_sign: bytes, mechanism: str) -> bytes:
        """Hash ``to_sign`` with SHA-256 and sign it (ECDSA in DER), checked against the certificate."""
        if mechanism not in MECHANISMS:
            raise CertificateError(f"unsupported signature mechanism: {mechanism}")
        public = self.certificate.public_key()
        expected = "rsassa_pkcs1v15" if isinstance(public, rsa.RSAPublicKey) else \
            "ecdsa" if isinstance(public, ec.EllipticCurvePublicKey) else None
        if expected != mechanism:
            raise CertificateError(f"the server asks for {mechanism}, but the certificate's key is "
                                   f"{type(public).__name__.removeprefix('_')}")
        signature = self._sign(to_sign, mechanism)
        try:
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, to_sign, PKCS1v15(), hashes.SHA256())
            else:
                assert isinstance(public, ec.EllipticCurvePublicKey)
                public.verify(signature, to_sign, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            # A token holding several keys, a certificate picked by the wrong label: say so before the server does.
            raise CertificateError("the private key does not belong to the certificate") from None
        return signature

    @abc.abstractmethod
    def _sign(self, to_sign: bytes, mechanism: str) -> bytes:
        """The raw signature over ``to_sign`` (SHA-256; ECDSA in DER), by the key file or the token."""

    def close(self) -> None:
        """Release the key (log out of the token)."""

    def __enter__(self) -> LocalSigner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SoftwareSigner(LocalSigner):
    def __init__(self, key: PrivateKey, certificates: list[x509.Certificate]) -> None:
        super().__init__(certificates)
        self._key: PrivateKey | None = key

    def _sign(self, to_sign: bytes, mechanism: str) -> bytes:
        key = self._key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(to_sign, PKCS1v15(), hashes.SHA256())
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
        raise CertificateError("the key is closed or of an unsupported type (RSA or ECDSA is needed)")

    def close(self) -> None:
        self._key = None


def load_p12_signer(path: str | Path, passphrase: str | bytes) -> LocalSigner:
    """The key and chain of a PKCS#12 file (.p12/.pfx); ``CertificateError`` with a one-line reason."""
    identity = load_pkcs12(Path(path), passphrase)
    if not isinstance(identity.private_key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise CertificateError("the PKCS#12 file holds an unsupported key (RSA or ECDSA is needed)")
    return _SoftwareSigner(identity.private_key, [identity.certificate, *identity.chain])


class _Pkcs11Signer(LocalSigner):
    def __init__(self, session: Any, key: Any, certificates: list[x509.Certificate]) -> None:
        super().__init__(certificates)
        self._session = session
        self._key = key
        self._mechanisms: set[Any] | None = None

    def _supported(self) -> set[Any]:
        if self._mechanisms is None:
            try:
                self._mechanisms = set(self._session.token.slot.get_mechanisms())
            except Exception:  # some tokens cannot list them; try the combined mechanisms anyway
                self._mechanisms = set()
        return self._mechanisms

    def _sign(self, to_sign: bytes, mechanism: str) -> bytes:
        import pkcs11
        from pkcs11 import Mechanism

        if self._session is None:
            raise CertificateError("the token session is closed")
        supported = self._supported()
        try:
            if mechanism == "rsassa_pkcs1v15":
                if not supported or Mechanism.SHA256_RSA_PKCS in supported:
                    return self._key.sign(to_sign, mechanism=Mechanism.SHA256_RSA_PKCS)
                # The token only pads: hash here and hand it the DigestInfo.
                digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(to_sign).digest()
                return self._key.sign(digest_info, mechanism=Mechanism.RSA_PKCS)
            if not supported or Mechanism.ECDSA_SHA256 in supported:
                raw = self._key.sign(to_sign, mechanism=Mechanism.ECDSA_SHA256)
            else:
                raw = self._key.sign(hashlib.sha256(to_sign).digest(), mechanism=Mechanism.ECDSA)
        except pkcs11.PKCS11Error as err:
            raise CertificateError(f"the token refused to sign: {_pkcs11_reason(err)}") from None
        return _ecdsa_der(raw)

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                session.close()
            except Exception:  # the token may already be gone (unplugged): nothing left to release
                pass


def _ecdsa_der(raw: bytes) -> bytes:
    """PKCS#11 gives ECDSA signatures as r‖s; CMS wants a DER SEQUENCE of two INTEGERs."""
    half = len(raw) // 2
    if len(raw) % 2 or not half:
        raise CertificateError("the token returned a malformed ECDSA signature")
    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


def _pkcs11_reason(err: Exception) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__


def load_pkcs11_signer(lib: str | Path, token_label: str, key_label: str, pin: str | None,
                       cert_label: str | None = None, cert_file: str | Path | None = None) -> LocalSigner:
    """A key on a PKCS#11 token, logged in with ``pin``; close the signer (or use ``with``) to log out.

    The certificate comes from ``cert_file`` (PEM, the signer's first, chain after), else from the token:
    the object labelled ``cert_label``, else the one with the key's ID, else the one with the key's label.
    Issuer certificates found on the token are added as the chain.
    """
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    try:
        library = pkcs11.lib(str(lib))
    except (pkcs11.PKCS11Error, OSError, RuntimeError) as err:
        raise CertificateError(f"cannot load the PKCS#11 library {lib}: {_pkcs11_reason(err)}") from None
    try:
        try:
            token = library.get_token(token_label=token_label)
        except pkcs11.NoSuchToken:
            # Tokens plugged in (or created) after the library was loaded are seen after re-initialising.
            library.reinitialize()
            token = library.get_token(token_label=token_label)
    except pkcs11.NoSuchToken:
        raise CertificateError(f"no token labelled '{token_label}' (is it plugged in?)") from None
    except pkcs11.MultipleTokensReturned:
        raise CertificateError(f"several tokens are labelled '{token_label}'") from None
    except pkcs11.PKCS11Error as err:
        raise CertificateError(f"cannot reach the token: {_pkcs11_reason(err)}") from None
    try:
        session = token.open(user_pin=pin)
    except (pkcs11.PinIncorrect, pkcs11.PinLenRange, pkcs11.PinInvalid):
        raise CertificateError("wrong PIN for the token") from None
    except pkcs11.PinLocked:
        raise CertificateError("the token's PIN is locked (too many wrong tries)") from None
    except pkcs11.PKCS11Error as err:
        raise CertificateError(f"cannot log in to the token: {_pkcs11_reason(err)}") from None
    try:
        try:
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=key_label)
        except pkcs11.NoSuchKey:
            raise CertificateError(f"no private key labelled '{key_label}' on the token") from None
        except pkcs11.MultipleObjectsReturned:
            raise CertificateError(f"several private keys are labelled '{key_label}' on the token") from None
        token_certs = _token_certificates(session, Attribute, ObjectClass)
        if cert_file is not None:
            certificates = _certificates_from_file(cert_file)
        else:
            leaf = _token_leaf(token_certs, key, key_label, cert_label, Attribute)
            certificates = [leaf, *_chain(leaf, [cert for _label, _id, cert in token_certs])]
        return _Pkcs11Signer(session, key, certificates)
    except BaseException:
        session.close()
        raise


def _token_certificates(session: Any, Attribute: Any, ObjectClass: Any) -> list[tuple[str, bytes, x509.Certificate]]:
    found = []
    for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
        try:
            cert = x509.load_der_x509_certificate(bytes(obj[Attribute.VALUE]))
        except ValueError:
            continue  # not an X.509 certificate: nothing we could send
        found.append((_attribute(obj, Attribute.LABEL) or "", bytes(_attribute(obj, Attribute.ID) or b""), cert))
    return found


def _attribute(obj: Any, attribute: Any) -> Any:
    try:
        return obj[attribute]
    except Exception:  # an attribute the token does not have
        return None


def _token_leaf(token_certs: list[tuple[str, bytes, x509.Certificate]], key: Any, key_label: str,
                cert_label: str | None, Attribute: Any) -> x509.Certificate:
    if cert_label is not None:
        matches = [cert for label, _id, cert in token_certs if label == cert_label]
        what = f"labelled '{cert_label}'"
    else:
        key_id = bytes(_attribute(key, Attribute.ID) or b"")
        matches = [cert for _label, cid, cert in token_certs if key_id and cid == key_id]
        if not matches:
            matches = [cert for label, _id, cert in token_certs if label == key_label]
        what = f"for the key '{key_label}' (same ID or label)"
    if not matches:
        raise CertificateError(f"no certificate {what} on the token; give it with --cert FILE.pem")
    if len(matches) > 1:
        raise CertificateError(f"several certificates {what} on the token; choose one with --cert-label")
    return matches[0]


def _chain(leaf: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate]:
    """The issuers of ``leaf`` found in ``pool``, nearest first, up to a self-signed root."""
    chain: list[x509.Certificate] = []
    current = leaf
    while current.issuer != current.subject and len(chain) < 8:
        issuer = next((c for c in pool if c.subject == current.issuer and c not in chain and c != leaf), None)
        if issuer is None:
            break
        chain.append(issuer)
        current = issuer
    return chain


def _certificates_from_file(path: str | Path) -> list[x509.Certificate]:
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise CertificateError(f"cannot read the certificate file {path}: {err.strerror}") from None
    return load_certificates(data)


# ---- the command line -----------------------------------------------------------------------------------

class ClientError(Exception):
    """Stops the client with a one-line message and exit status 1."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m meetings.signing.client",
        description="Ký biên bản cuộc họp bằng khóa trên máy của bạn (USB token hoặc tệp PKCS#12).")
    parser.add_argument("--server", required=True, help="địa chỉ máy chủ, ví dụ https://phonghop.example.vn")
    parser.add_argument("--username", required=True, help="tên đăng nhập")
    parser.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ dòng đầu của stdin")
    parser.add_argument("--meeting", required=True, type=int, help="mã số cuộc họp")
    key = parser.add_mutually_exclusive_group(required=True)
    key.add_argument("--p12", metavar="FILE", help="tệp PKCS#12 (.p12/.pfx) chứa khóa và chứng thư")
    key.add_argument("--pkcs11-lib", metavar="LIB", help="thư viện PKCS#11 của token (.so/.dll)")
    parser.add_argument("--p12-passphrase-stdin", action="store_true", help="đọc mật khẩu tệp PKCS#12 từ stdin")
    parser.add_argument("--token-label", help="nhãn của token")
    parser.add_argument("--key-label", help="nhãn của khóa bí mật trên token")
    cert = parser.add_mutually_exclusive_group()
    cert.add_argument("--cert-label", help="nhãn của chứng thư trên token (mặc định: cùng ID với khóa)")
    cert.add_argument("--cert", metavar="FILE.pem", help="tệp PEM: chứng thư của bạn, rồi chuỗi chứng thư")
    parser.add_argument("--pin-stdin", action="store_true", help="đọc mã PIN của token từ stdin")
    return parser


def _secret(stdin: IO[str], from_stdin: bool, prompt: str, what: str) -> str:
    if not from_stdin:
        return getpass.getpass(prompt)
    line = stdin.readline()
    if not line:
        raise ClientError(f"thiếu {what} trên stdin")
    return line.rstrip("\r\n")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _problem(response: Any) -> str:
    """The server's reason for refusing: ``detail`` of its problem+json, else what can be said."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("detail", "title"):
            if body.get(key):
                return _one_line(body[key])
    return f"máy chủ trả lời {response.status_code} {_one_line(getattr(response, 'reason', '') or '')}".strip()


class _Api:
    def __init__(self, server: str, session: Any) -> None:
        self.base = server.rstrip("/")
        self.http = session
        self.headers: dict[str, str] = {}

    def post(self, path: str, payload: dict[str, Any], *, expect: tuple[int, ...]) -> dict[str, Any]:
        import requests

        try:
            response = self.http.post(f"{self.base}{path}", json=payload, headers=self.headers,
                                      timeout=HTTP_TIMEOUT)
        except requests.RequestException as err:
            raise ClientError(f"không kết nối được máy chủ {self.base}: {_one_line(err)}") from None
        if response.status_code not in expect:
            raise ClientError(_problem(response))
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ClientError(f"máy chủ trả lời không phải JSON ({path})")
        return body


def _field(body: dict[str, Any], key: str) -> Any:
    if key not in body:
        raise ClientError(f"câu trả lời của máy chủ thiếu '{key}'")
    return body[key]


def _load_signer(args: argparse.Namespace, stdin: IO[str]) -> LocalSigner:
    if args.p12:
        passphrase = _secret(stdin, args.p12_passphrase_stdin, "Mật khẩu tệp PKCS#12: ", "mật khẩu tệp PKCS#12")
        return load_p12_signer(args.p12, passphrase)
    if not args.token_label or not args.key_label:
        raise ClientError("--pkcs11-lib cần --token-label và --key-label")
    pin = _secret(stdin, args.pin_stdin, "Mã PIN của token: ", "mã PIN")
    return load_pkcs11_signer(args.pkcs11_lib, args.token_label, args.key_label, pin, cert_label=args.cert_label,
                              cert_file=args.cert)


def _sign_minutes(args: argparse.Namespace, api: _Api, signer: LocalSigner, out: IO[str]) -> None:
    meeting = args.meeting
    print(f"Đang chuẩn bị chữ ký… (cuộc họp {meeting}, chứng thư: {signer.common_name})", file=out)
    prepared = api.post(f"/api/v1/meetings/{meeting}/minutes/external-signatures",
                        {"certificate_pem": signer.certificates_pem()}, expect=(200, 201))
    request_id = str(_field(prepared, "request_id"))
    digest = prepared.get("digest_algorithm", "sha256")
    if digest != "sha256":
        raise ClientError(f"máy chủ yêu cầu thuật toán băm không hỗ trợ: {digest}")
    try:
        to_sign = base64.b64decode(_field(prepared, "to_sign"), validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise ClientError("máy chủ gửi dữ liệu cần ký không hợp lệ") from None
    print(f"Đang ký ô “{prepared.get('field', '?')}”…", file=out)
    signature = signer.sign(to_sign, str(_field(prepared, "mechanism")))
    status = api.post(f"/api/v1/meetings/{meeting}/minutes/external-signatures/{request_id}",
                      {"signature": base64.b64encode(signature).decode("ascii")}, expect=(200, 201))
    print(f"Đã ký: {prepared.get('field', request_id)} — {signer.common_name}", file=out)
    signatures = status.get("signatures")
    if isinstance(signatures, list):
        print(f"Biên bản hiện có {len(signatures)} chữ ký.", file=out)
    next_step = status.get("next_step")
    if isinstance(next_step, dict):
        next_step = next(
            (next_step[k] for k in ("label", "title", "description", "role") if next_step.get(k)), None)
    if next_step:
        print(f"Bước tiếp theo: {_one_line(next_step)}", file=out)


def run(argv: list[str] | None = None, *, stdin: IO[str] = sys.stdin, session: Any = None,
        stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """The command line; returns the exit status. ``session``: a ``requests.Session`` (or a stand-in)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        password = _secret(stdin, args.password_stdin, "Mật khẩu: ", "mật khẩu")
        with _load_signer(args, stdin) as signer:
            if session is None:
                import requests

                session = requests.Session()
            api = _Api(args.server, session)
            login = api.post("/api/v1/auth/login", {"username": args.username, "password": password},
                             expect=(200,))
            api.headers["Authorization"] = f"Bearer {_field(login, 'token')}"
            _sign_minutes(args, api, signer, out)
    except (ClientError, CertificateError) as error:
        print(f"Lỗi: {_one_line(error)}", file=err)
        return 1
    except KeyboardInterrupt:
        print("Đã hủy.", file=err)
        return 1
    return 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
