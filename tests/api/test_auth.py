"""api.auth: tokens verified into principals, and the FastAPI dependencies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from api.auth import (
    AuthError,
    CurrentPrincipal,
    Principal,
    TokenVerifier,
    issue_token,
    require_roles,
)
from api.errors import ApiError, install_error_handlers
from domain.catalog import Role
from domain.dossier import Actor
from domain.i18n import Lang
from infra.settings import Settings, load_settings

SECRET = "test-secret-that-is-long-enough-for-hs256!!"
AGENCY = "000.00.01.H99"


def make_settings(**kw: Any) -> Settings:
    values: dict[str, Any] = {
        "jwt_secret": SECRET,
        "jwt_issuer": "motcua",
        "jwt_audience": "motcua",
    }
    values.update(kw)
    return Settings(**values)


def claims(**kw: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    base: dict[str, Any] = {
        "iss": "motcua",
        "aud": "motcua",
        "sub": "u1",
        "name": "Nguyễn Văn A",
        "roles": ["intake_officer"],
        "agency": AGENCY,
        "iat": now,
        "exp": now + 3600,
    }
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def hs256(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def refused(verifier: TokenVerifier, token: str, lang: Lang = "vi") -> str:
    """Why the token is refused, in `lang` (the API answers Vietnamese unless asked for
    English); in neither language does the message repeat the token."""
    with pytest.raises(AuthError) as info:
        verifier.verify(token)
    assert info.value.message == info.value.text.render("vi")
    for message in (info.value.text.render("vi"), info.value.text.render("en")):
        assert not token or token not in message
        for part in token.split("."):
            if len(part) > 8:
                assert part not in message
    return info.value.text.render(lang)


def refused_en(verifier: TokenVerifier, token: str) -> str:
    return refused(verifier, token, "en")


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier.from_settings(make_settings())


# -- HS256 ----------------------------------------------------------------------------------


def test_issue_and_verify_roundtrip(verifier: TokenVerifier) -> None:
    settings = make_settings()
    token = issue_token(
        settings, sub="cb-01", roles=[Role.INTAKE_OFFICER, "leader"], agency=AGENCY, name="Trần B"
    )
    p = verifier.verify(token)
    assert p == Principal(
        sub="cb-01", name="Trần B", roles=[Role.INTAKE_OFFICER, Role.LEADER], agency=AGENCY
    )
    assert p.has(Role.LEADER) and not p.has(Role.SIGNER)
    assert not p.is_admin and not p.is_auditor
    assert p.actor_for(Role.LEADER) == Actor(
        id="cb-01", name="Trần B", role=Role.LEADER, agency=AGENCY
    )
    with pytest.raises(ApiError) as info:
        p.actor_for(Role.SIGNER)
    assert info.value.status == 403 and "'signer'" in info.value.message
    assert "cần vai trò" in info.value.message

    decoded = jwt.decode(token, SECRET, algorithms=["HS256"], audience="motcua")
    assert decoded["exp"] - decoded["iat"] == 12 * 3600
    assert decoded["roles"] == ["intake_officer", "leader"]


def test_applicant_auditor_admin_need_no_agency(verifier: TokenVerifier) -> None:
    settings = make_settings()
    p = verifier.verify(issue_token(settings, sub="cd-1", roles=Role.APPLICANT))
    assert p.roles == [Role.APPLICANT] and p.agency is None
    assert p.actor_for(Role.APPLICANT) == Actor(id="cd-1", role=Role.APPLICANT)
    q = verifier.verify(issue_token(settings, sub="x", roles=["auditor", "admin"]))
    assert q.is_auditor and q.is_admin and q.agency is None


def test_single_role_claim_and_duplicate_roles(verifier: TokenVerifier) -> None:
    p = verifier.verify(hs256(claims(roles=None, role="specialist")))
    assert p.roles == [Role.SPECIALIST]
    q = verifier.verify(hs256(claims(roles=["leader", "leader", "signer"])))
    assert q.roles == [Role.LEADER, Role.SIGNER]


def test_expired(verifier: TokenVerifier) -> None:
    token = issue_token(
        make_settings(),
        sub="u",
        roles=["admin"],
        ttl=timedelta(hours=1),
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    assert refused(verifier, token) == "token đã hết hạn (exp)"


def test_issued_in_the_future(verifier: TokenVerifier) -> None:
    later = int(datetime.now(UTC).timestamp()) + 3600
    assert "(iat) ở tương lai" in refused(verifier, hs256(claims(iat=later, exp=later + 60)))


def test_missing_exp(verifier: TokenVerifier) -> None:
    assert (
        refused(verifier, hs256(claims(exp=None)))
        == "thiếu claim 'exp' (thời điểm hết hạn của token)"
    )


def test_wrong_issuer_and_audience(verifier: TokenVerifier) -> None:
    assert "wrong issuer" in refused_en(verifier, hs256(claims(iss="someone-else")))
    assert "wrong audience" in refused_en(verifier, hs256(claims(aud="another-app")))
    assert refused_en(verifier, hs256(claims(iss=None))) == "missing claim 'iss'"
    assert refused_en(verifier, hs256(claims(aud=None))) == "missing claim 'aud'"
    other = TokenVerifier.from_settings(make_settings(jwt_audience="portal"))
    assert "wrong audience" in refused_en(
        other, issue_token(make_settings(), sub="u", roles=["admin"])
    )


def test_bad_signature(verifier: TokenVerifier) -> None:
    assert refused_en(verifier, hs256(claims(), secret="x" * 40)) == "bad signature"
    head, body, sig = hs256(claims()).split(".")
    forged = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged["roles"] = ["admin"]
    body2 = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert refused_en(verifier, f"{head}.{body2}.{sig}") == "bad signature"


def test_malformed(verifier: TokenVerifier) -> None:
    assert "malformed" in refused_en(verifier, "not-a-token")
    assert "malformed" in refused_en(verifier, "a.b.c")
    assert refused_en(verifier, "") == "empty token"
    assert refused_en(verifier, "a" * 20_000) == "token too large"


def test_missing_sub_and_roles(verifier: TokenVerifier) -> None:
    assert refused_en(verifier, hs256(claims(sub=None))) == "missing claim 'sub'"
    assert refused_en(verifier, hs256(claims(sub=""))) == "missing claim 'sub'"
    assert refused_en(verifier, hs256(claims(roles=None))) == "missing claim 'roles'"
    assert "no role" in refused_en(verifier, hs256(claims(roles=[])))
    assert "list of strings" in refused_en(verifier, hs256(claims(roles="leader")))
    assert "list of strings" in refused_en(verifier, hs256(claims(roles=[1])))
    assert "'name' must be a string" in refused_en(verifier, hs256(claims(name=5)))


def test_unknown_role(verifier: TokenVerifier) -> None:
    assert (
        refused_en(verifier, hs256(claims(roles=["intake_officer", "god"]))) == "unknown role 'god'"
    )


def test_officer_role_needs_agency(verifier: TokenVerifier) -> None:
    for role in ("intake_officer", "specialist", "leader", "signer", "return_officer"):
        message = refused_en(verifier, hs256(claims(roles=[role], agency=None)))
        assert "missing claim 'agency'" in message and role in message
    assert "agency" in refused_en(verifier, hs256(claims(roles=["applicant", "leader"], agency="")))
    with pytest.raises(ValueError, match="agency"):
        issue_token(make_settings(), sub="u", roles=["signer"])


def test_system_role_refused(verifier: TokenVerifier) -> None:
    message = refused_en(verifier, hs256(claims(roles=["system"])))
    assert message == "role 'system' cannot be granted by a token"
    assert refused(verifier, hs256(claims(roles=["system"]))) == (
        "vai trò 'system' không thể được cấp bằng token"
    )
    with pytest.raises(ValueError, match="system"):
        issue_token(make_settings(), sub="u", roles=["system"])
    with pytest.raises(ValueError, match="system"):
        Principal(sub="u", roles=[Role.SYSTEM])


def test_alg_none_refused(verifier: TokenVerifier) -> None:
    token = jwt.encode(claims(), None, algorithm="none")
    assert "algorithm not allowed" in refused_en(verifier, token)


def test_issue_token_refused_in_production_and_for_rs256(tmp_path: Path) -> None:
    prod = make_settings(
        environment="production", jwt_secret="p" * 48, payment_gateway_secret="g" * 48
    )
    with pytest.raises(ValueError, match="production"):
        issue_token(prod, sub="u", roles=["admin"])
    rs = make_settings(jwt_algorithm="RS256")
    with pytest.raises(ValueError, match="RS256"):
        issue_token(rs, sub="u", roles=["admin"])
    with pytest.raises(ValueError, match="thời hạn hiệu lực của token"):
        issue_token(make_settings(), sub="u", roles=["admin"], ttl=timedelta(0))


def test_from_settings_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RS256 cần MOTCUA_JWT_PUBLIC_KEY_FILE"):
        TokenVerifier.from_settings(make_settings(jwt_algorithm="RS256"))
    with pytest.raises(ValueError, match=r"không đọc được .*missing\.pem: không có tệp này"):
        TokenVerifier.from_settings(
            make_settings(jwt_algorithm="RS256", jwt_public_key_file=tmp_path / "missing.pem")
        )
    with pytest.raises(ValueError, match="MOTCUA_JWT_SECRET ngắn hơn 32 byte"):
        TokenVerifier.from_settings(
            make_settings(
                environment="production", jwt_secret="short", payment_gateway_secret="g" * 48
            )
        )


# -- RS256 ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def rs256(payload: dict[str, Any], key: rsa.RSAPrivateKey, kid: str | None = None) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(payload, key, algorithm="RS256", headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hmac_token(payload: dict[str, Any], secret: bytes, kid: str | None = None) -> str:
    """An HS256 token made by hand (PyJWT itself refuses a PEM as an HMAC secret)."""
    header = {"alg": "HS256", "typ": "JWT"} | ({"kid": kid} if kid else {})
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


@pytest.fixture
def pem_verifier(tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]) -> TokenVerifier:
    path = tmp_path / "idp.pem"
    path.write_bytes(public_pem(rsa_keys[0]))
    return TokenVerifier.from_settings(
        make_settings(jwt_algorithm="RS256", jwt_public_key_file=path)
    )


def test_rs256_pem(pem_verifier: TokenVerifier, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    p = pem_verifier.verify(rs256(claims(), rsa_keys[0]))
    assert p.sub == "u1" and p.roles == [Role.INTAKE_OFFICER] and p.agency == AGENCY
    assert refused_en(pem_verifier, rs256(claims(), rsa_keys[1])) == "bad signature"
    assert refused_en(pem_verifier, rs256(claims(roles=["system"]), rsa_keys[0])).startswith(
        "role 'system'"
    )


def test_algorithm_confusion_refused(
    pem_verifier: TokenVerifier, rsa_keys: list[rsa.RSAPrivateKey], verifier: TokenVerifier
) -> None:
    # The classic attack: HS256 "signed" with the public key PEM as the HMAC secret.
    forged = hmac_token(claims(roles=["admin"]), public_pem(rsa_keys[0]))
    assert "algorithm not allowed" in refused_en(pem_verifier, forged)
    # And the other way: an HS256 service does not take RS256 tokens.
    assert "algorithm not allowed" in refused_en(verifier, rs256(claims(), rsa_keys[0]))
    assert "algorithm not allowed" in refused_en(pem_verifier, hs256(claims()))
    assert "algorithm not allowed" in refused_en(
        pem_verifier, jwt.encode(claims(), None, algorithm="none")
    )


def test_pem_file_with_private_key_refused(
    tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    path = tmp_path / "private.pem"
    path.write_bytes(
        rsa_keys[0].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ValueError, match="không phải khóa công khai hay chứng thư số dạng PEM"):
        TokenVerifier.from_settings(make_settings(jwt_algorithm="RS256", jwt_public_key_file=path))


def jwk(key: rsa.RSAPrivateKey, kid: str | None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    if kid:
        data["kid"] = kid
    data.update(extra)
    return data


def jwks_verifier(tmp_path: Path, keys: list[dict[str, Any]]) -> TokenVerifier:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": keys}))
    return TokenVerifier.from_settings(make_settings(jwt_algorithm="RS256", jwt_jwks_file=path))


def test_rs256_jwks_selects_key_by_kid(tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    v = jwks_verifier(
        tmp_path,
        [
            jwk(rsa_keys[0], "2025-a", use="sig", alg="RS256"),
            jwk(rsa_keys[1], "2025-b"),
            jwk(rsa_keys[2], "enc-1", use="enc", alg="RSA-OAEP"),  # not a signing key
        ],
    )
    assert v.verify(rs256(claims(sub="a"), rsa_keys[0], kid="2025-a")).sub == "a"
    assert v.verify(rs256(claims(sub="b"), rsa_keys[1], kid="2025-b")).sub == "b"
    # right kid, wrong key; a kid that is not in the set; no kid among several keys
    assert refused_en(v, rs256(claims(), rsa_keys[1], kid="2025-a")) == "bad signature"
    assert "not in the key set" in refused_en(v, rs256(claims(), rsa_keys[2], kid="enc-1"))
    assert "not in the key set" in refused_en(v, rs256(claims(), rsa_keys[0], kid="nope"))
    assert "no 'kid'" in refused_en(v, rs256(claims(), rsa_keys[0]))
    forged = hmac_token(claims(roles=["admin"]), public_pem(rsa_keys[0]), kid="2025-a")
    assert "algorithm not allowed" in refused_en(v, forged)
    jwk_json = json.dumps(jwk(rsa_keys[0], "2025-a")).encode()  # the JWK itself as the secret
    assert "algorithm not allowed" in refused_en(v, hmac_token(claims(), jwk_json, kid="2025-a"))


def test_jwks_single_key_without_kid(tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    v = jwks_verifier(tmp_path, [jwk(rsa_keys[0], None)])
    assert v.verify(rs256(claims(), rsa_keys[0])).sub == "u1"
    assert v.verify(rs256(claims(), rsa_keys[0], kid="whatever")).sub == "u1"


def test_jwks_configuration_errors(tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    private = RSAAlgorithm.to_jwk(rsa_keys[0], as_dict=True) | {"kid": "p"}
    with pytest.raises(ValueError, match="chứa một khóa bí mật"):
        jwks_verifier(tmp_path, [private])
    with pytest.raises(ValueError, match="không có khóa chữ ký RSA nào"):
        jwks_verifier(tmp_path, [{"kty": "oct", "k": "c2VjcmV0"}])
    with pytest.raises(ValueError, match="có hai khóa cùng kid"):
        jwks_verifier(tmp_path, [jwk(rsa_keys[0], "a"), jwk(rsa_keys[1], "a")])
    with pytest.raises(ValueError, match="khóa nào cũng phải có 'kid'"):
        jwks_verifier(tmp_path, [jwk(rsa_keys[0], "a"), jwk(rsa_keys[1], None)])
    pem = tmp_path / "k.pem"
    pem.write_bytes(public_pem(rsa_keys[0]))
    with pytest.raises(ValueError, match="chỉ được đặt một trong hai biến"):
        TokenVerifier.from_settings(
            make_settings(
                jwt_algorithm="RS256", jwt_public_key_file=pem, jwt_jwks_file=tmp_path / "jwks.json"
            )
        )


# -- FastAPI --------------------------------------------------------------------------------


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.state.verifier = TokenVerifier.from_settings(make_settings())

    install_error_handlers(app)

    @app.get("/me")
    async def me(principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
        assert request.state.principal == principal
        return {"sub": principal.sub, "roles": principal.roles}

    @app.post("/approve")
    async def approve(
        principal: Annotated[Principal, Depends(require_roles(Role.LEADER, Role.SIGNER))],
    ) -> dict[str, Any]:
        return principal.actor_for(Role.LEADER).model_dump(mode="json")

    return TestClient(app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_no_header_is_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic dTpw"}):
        r = client.get("/me", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthenticated"
        assert "Thiếu bearer token" in r.json()["error"]["message"]
        r = client.get("/me", headers=headers | {"Accept-Language": "en"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
        assert "missing bearer token" in r.json()["error"]["message"]


def test_api_bad_token_is_401_with_reason(client: TestClient) -> None:
    token = hs256(claims(), secret="w" * 40)
    r = client.get("/me", headers=bearer(token))
    assert r.status_code == 401
    assert r.json() == {
        "error": {"code": "unauthenticated", "message": "chữ ký của token không đúng"}
    }
    r = client.get("/me", headers=bearer(token) | {"Accept-Language": "en-GB, vi;q=0.5"})
    assert r.json() == {"error": {"code": "unauthenticated", "message": "bad signature"}}
    expired = issue_token(
        make_settings(), sub="u", roles=["admin"], now=datetime.now(UTC) - timedelta(days=1)
    )
    r = client.get("/me", headers=bearer(expired))
    assert r.status_code == 401 and r.json()["error"]["message"] == "token đã hết hạn (exp)"


def test_api_wrong_role_is_403(client: TestClient) -> None:
    token = issue_token(make_settings(), sub="cb", roles=["intake_officer"], agency=AGENCY)
    assert client.get("/me", headers=bearer(token)).status_code == 200
    r = client.post("/approve", headers=bearer(token))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    message = r.json()["error"]["message"]
    assert (
        "cần một trong các vai trò" in message and "'leader'" in message and "'signer'" in message
    )
    r = client.post("/approve", headers=bearer(token) | {"Accept-Language": "en"})
    assert r.json()["error"]["code"] == "forbidden"
    assert r.json()["error"]["message"] == "this action needs one of roles 'leader', 'signer'"


def test_api_ok(client: TestClient) -> None:
    token = issue_token(make_settings(), sub="ld-1", roles=["leader"], agency=AGENCY, name="Lê C")
    r = client.get("/me", headers=bearer(token))
    assert r.status_code == 200 and r.json() == {"sub": "ld-1", "roles": ["leader"]}
    r = client.post("/approve", headers=bearer(token))
    assert r.status_code == 200
    assert r.json() == {"id": "ld-1", "name": "Lê C", "role": "leader", "agency": AGENCY}


def test_require_roles_arguments() -> None:
    with pytest.raises(ValueError):
        require_roles()
    with pytest.raises(ValueError):
        require_roles(Role.SYSTEM)


# -- time claims and their leeway (30 s) ------------------------------------------------------


def test_time_claims_within_and_beyond_the_leeway(verifier: TokenVerifier) -> None:
    now = int(datetime.now(UTC).timestamp())
    # exp: just past (clock skew) is accepted, well past is refused
    assert verifier.verify(hs256(claims(iat=now - 600, exp=now - 10))).sub == "u1"
    assert (
        refused(verifier, hs256(claims(iat=now - 600, exp=now - 120))) == "token đã hết hạn (exp)"
    )
    # nbf: a token not valid yet is refused, unless within the leeway
    assert verifier.verify(hs256(claims(nbf=now + 10))).sub == "u1"
    assert "chưa có hiệu lực (nbf" in refused(verifier, hs256(claims(nbf=now + 600)))
    # iat a little in the future (the IdP's clock ahead): accepted within the leeway
    assert verifier.verify(hs256(claims(iat=now + 10))).sub == "u1"
    # non-numeric times are refused, never "no expiry"
    for claim in ("exp", "nbf", "iat"):
        message = refused(verifier, hs256(claims(**{claim: "now"})))
        assert f"claim '{claim}'" in message and "phải là một số" in message, message


def test_other_algorithms_than_the_pinned_one_are_refused(
    verifier: TokenVerifier, pem_verifier: TokenVerifier, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    hs512 = jwt.encode(claims(), SECRET, algorithm="HS512")
    assert "accepts HS256 only" in refused_en(verifier, hs512)
    rs512 = jwt.encode(claims(), rsa_keys[0], algorithm="RS512")
    assert "accepts RS256 only" in refused_en(pem_verifier, rs512)
    ps256 = jwt.encode(claims(), rsa_keys[0], algorithm="PS256")
    assert "accepts RS256 only" in refused_en(pem_verifier, ps256)
    # "alg": "none" in any spelling, with or without a signature part
    for alg in ("none", "None", "NONE"):
        header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        body = b64url(json.dumps(claims(roles=["admin"])).encode())
        for unsigned in (f"{header}.{body}.", f"{header}.{body}"):
            assert refused_en(pem_verifier, unsigned) in {
                "token algorithm not allowed (this service accepts RS256 only)",
                "malformed token",
            }
            assert refused_en(verifier, unsigned) in {
                "token algorithm not allowed (this service accepts HS256 only)",
                "malformed token",
            }


# -- JWKS rotation ----------------------------------------------------------------------------


class FakeClock:
    """Monotonic seconds that a test moves forward (the verifier's re-read schedule)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rotating_verifier(path: Path, clock: FakeClock, refresh: float = 300) -> TokenVerifier:
    settings = make_settings(
        jwt_algorithm="RS256", jwt_jwks_file=path, jwt_jwks_refresh_seconds=refresh
    )
    return TokenVerifier.from_settings(settings, clock=clock)


def write_jwks(path: Path, keys: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps({"keys": keys}))


def test_jwks_rotation_without_restart(tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    """The IdP publishes a new key beside the old one, signs with it, then withdraws the old
    one: each step is seen by the running verifier, without a restart."""
    path = tmp_path / "jwks.json"
    old, new = rsa_keys[0], rsa_keys[1]
    write_jwks(path, [jwk(old, "2025-old")])
    clock = FakeClock()
    v = rotating_verifier(path, clock)
    old_token = rs256(claims(sub="old"), old, kid="2025-old")
    new_token = rs256(claims(sub="new"), new, kid="2026-new")
    assert v.verify(old_token).sub == "old"
    assert "not in the key set" in refused_en(v, new_token)  # not published yet

    # Published: a token with the new kid makes the verifier re-read the file at once
    # (the refused attempt above was only just now, so wait out the 10 s guard first).
    write_jwks(path, [jwk(old, "2025-old"), jwk(new, "2026-new")])
    clock.now += 11
    assert v.verify(new_token).sub == "new"
    assert v.verify(old_token).sub == "old"  # still listed: still valid

    # Withdrawn: refused from the next scheduled re-read (not before: nothing to trigger it).
    write_jwks(path, [jwk(new, "2026-new")])
    clock.now += 299
    assert v.verify(old_token).sub == "old"
    clock.now += 2
    assert "not in the key set" in refused_en(v, old_token)
    assert v.verify(new_token).sub == "new"


def test_unknown_kids_do_not_make_a_stream_of_file_reads(
    tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    path = tmp_path / "jwks.json"
    write_jwks(path, [jwk(rsa_keys[0], "a")])
    clock = FakeClock()
    v = rotating_verifier(path, clock)
    clock.now += 11
    write_jwks(path, [jwk(rsa_keys[0], "a"), jwk(rsa_keys[1], "b")])
    forged = rs256(claims(), rsa_keys[2], kid="forged-1")
    assert "not in the key set" in refused_en(v, forged)  # this one re-read the file ...
    write_jwks(path, [jwk(rsa_keys[0], "a"), jwk(rsa_keys[1], "b"), jwk(rsa_keys[2], "c")])
    token_c = rs256(claims(sub="c"), rsa_keys[2], kid="c")
    assert "not in the key set" in refused_en(v, token_c)  # ... so this one, 0 s later, may not
    assert v.verify(rs256(claims(sub="b"), rsa_keys[1], kid="b")).sub == "b"
    clock.now += 10
    assert v.verify(token_c).sub == "c"


def test_a_broken_jwks_file_keeps_the_keys_in_use(
    tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    path = tmp_path / "jwks.json"
    write_jwks(path, [jwk(rsa_keys[0], "a")])
    clock = FakeClock()
    v = rotating_verifier(path, clock, refresh=60)
    token = rs256(claims(), rsa_keys[0], kid="a")
    for broken in ('{"keys": [', '{"keys": []}', ""):
        path.write_text(broken)  # half written, emptied by mistake
        clock.now += 61
        assert v.verify(token).sub == "u1", broken
    path.unlink()
    clock.now += 61
    assert v.verify(token).sub == "u1"
    write_jwks(path, [jwk(rsa_keys[1], "b")])
    clock.now += 61
    assert "not in the key set" in refused_en(v, token)


def test_from_settings_reads_the_refresh_period(
    tmp_path: Path, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    path = tmp_path / "jwks.json"
    write_jwks(path, [jwk(rsa_keys[0], "a")])
    clock = FakeClock()
    v = rotating_verifier(path, clock, refresh=42)
    write_jwks(path, [jwk(rsa_keys[1], "b")])
    token = rs256(claims(), rsa_keys[0], kid="a")
    clock.now += 41
    assert v.verify(token).sub == "u1"
    clock.now += 2
    assert "not in the key set" in refused_en(v, token)
    with pytest.raises(ValueError, match="MOTCUA_JWT_JWKS_REFRESH_SECONDS"):
        load_settings(jwt_jwks_refresh_seconds=0)


# -- NumericDates (RFC 7519 §2) and the longest lifetime (issue 21) ---------------------------

NOT_A_NUMBER = "phải là một số giây kể từ 1970 (NumericDate, RFC 7519)"
OUT_OF_RANGE = "nằm ngoài khoảng thời gian hợp lệ"


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


BAD_TIMES: list[tuple[str, Any, str]] = [
    # PyJWT alone accepts a numeric string (int("…") works) ...
    ("exp as a string", lambda now: {"exp": str(now + 3600)}, NOT_A_NUMBER),
    ("iat as a string", lambda now: {"iat": str(now)}, NOT_A_NUMBER),
    ("nbf as a string", lambda now: {"nbf": str(now)}, NOT_A_NUMBER),
    # ... true/false (int(True) is 1) ...
    ("exp true", lambda now: {"exp": True}, NOT_A_NUMBER),
    ("iat true", lambda now: {"iat": True}, NOT_A_NUMBER),
    ("iat false", lambda now: {"iat": False}, NOT_A_NUMBER),
    ("nbf false", lambda now: {"nbf": False}, NOT_A_NUMBER),
    ("iat a list", lambda now: {"iat": [now]}, NOT_A_NUMBER),
    # ... and times no calendar holds
    ("exp 10**20", lambda now: {"exp": 10**20}, OUT_OF_RANGE),
    ("exp 1e20", lambda now: {"exp": 1e20}, OUT_OF_RANGE),
    ("iat before 1970", lambda now: {"iat": -(10**20)}, OUT_OF_RANGE),
    # a lifetime beyond MOTCUA_JWT_MAX_LIFETIME_SECONDS (12 h)
    (
        "ten years",
        lambda now: {"exp": now + 10 * 365 * 86400},
        "token có thời hạn quá dài: từ lúc cấp (iat) đến lúc hết hạn (exp) là 87.600 giờ, "
        "tối đa 12 giờ",
    ),
    (
        "12 h and a minute, issued an hour ago",
        lambda now: {"iat": now - 3600, "exp": now - 3600 + 12 * 3600 + 60},
        "quá dài",
    ),
    # no iat: the lifetime cannot be judged
    ("no iat", lambda now: {"iat": None}, "thiếu claim 'iat' (thời điểm cấp của token)"),
    # iat in the future, beyond the 30 s leeway
    (
        "iat in an hour",
        lambda now: {"iat": now + 3600, "exp": now + 7200},
        "thời điểm cấp token (iat) ở tương lai: token chưa có hiệu lực",
    ),
]


@pytest.mark.parametrize(("why", "bad", "expected"), BAD_TIMES, ids=[c[0] for c in BAD_TIMES])
def test_time_claims_must_be_numeric_dates_within_the_lifetime(
    verifier: TokenVerifier, why: str, bad: Any, expected: str
) -> None:
    message = refused(verifier, hs256(claims(**bad(_now()))))
    assert expected in message, (why, message)


def test_the_longest_lifetime_is_a_setting(verifier: TokenVerifier) -> None:
    now = _now()
    # Plain JSON numbers pass: fractions are NumericDates too, and exactly the longest
    # lifetime (12 h by default) is within it.
    assert verifier.verify(hs256(claims())).sub == "u1"
    assert verifier.verify(hs256(claims(iat=now + 0.5, exp=now + 3600.25))).sub == "u1"
    assert verifier.verify(hs256(claims(iat=now - 60, exp=now - 60 + 12 * 3600))).sub == "u1"
    assert verifier.verify(hs256(claims(nbf=now - 1))).sub == "u1"
    day = hs256(claims(iat=now, exp=now + 24 * 3600))
    longer = TokenVerifier.from_settings(make_settings(jwt_max_lifetime_seconds=24 * 3600))
    assert longer.verify(day).sub == "u1"
    shorter = TokenVerifier.from_settings(make_settings(jwt_max_lifetime_seconds=1800))
    assert "tối đa 0,5 giờ" in refused(shorter, hs256(claims(iat=now, exp=now + 3600)))


def test_development_tokens_stay_within_the_longest_lifetime(verifier: TokenVerifier) -> None:
    """issue_token (`motcua token`, the dev login, the dev stack's tokens) issues the longest
    lifetime by default (12 h), which passes; it refuses to issue beyond the setting."""
    settings = make_settings()
    assert verifier.verify(issue_token(settings, sub="cb", roles=["admin"])).sub == "cb"
    with pytest.raises(ValueError, match="tối đa 12 giờ"):
        issue_token(settings, sub="cb", roles=["admin"], ttl=timedelta(hours=13))
    short = make_settings(jwt_max_lifetime_seconds=3600)
    with pytest.raises(ValueError, match="tối đa 1 giờ"):
        issue_token(short, sub="cb", roles=["admin"], ttl=timedelta(hours=2))
    token = issue_token(short, sub="cb", roles=["admin"])  # 1 h, the longest here
    claims_of = jwt.decode(token, options={"verify_signature": False})
    assert claims_of["exp"] - claims_of["iat"] == 3600
    assert TokenVerifier.from_settings(short).verify(token).sub == "cb"


def test_the_dev_stack_prints_its_tokens_ready_for_a_shell(verifier: TokenVerifier) -> None:
    """`make run` ends with `export AP=… IO=… SP=…`: one variable per demo role, named as
    the README's walkthrough uses them, each a token of that role."""
    from motcua.stack import development_tokens, export_line

    line = export_line(development_tokens(make_settings()))
    words = shlex.split(line)
    assert words[0] == "export"
    tokens = dict(word.split("=", 1) for word in words[1:])
    roles = {
        "AP": Role.APPLICANT,
        "IO": Role.INTAKE_OFFICER,
        "SP": Role.SPECIALIST,
        "LD": Role.LEADER,
        "SG": Role.SIGNER,
        "RO": Role.RETURN_OFFICER,
        "AU": Role.AUDITOR,
        "AD": Role.ADMIN,
        "CA": Role.CATALOG_ADMIN,
    }
    assert tokens.keys() == roles.keys()
    for name, role in roles.items():
        assert verifier.verify(tokens[name]).roles == [role], name
