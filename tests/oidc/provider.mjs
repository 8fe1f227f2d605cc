// A real OpenID Provider for the sign-in tests: the certified `oidc-provider` package
// (pinned in package.json / package-lock.json), configured by a JSON file:
//
//   node tests/oidc/provider.mjs config.json
//   {"port": 18600, "issuer": "http://127.0.0.1:18600",
//    "keys": [private JWKs, the first signs],          (the tests make and rotate them)
//    "clients": [{client_id, client_secret?, redirect_uris, post_logout_redirect_uris}],
//    "accounts": {"<login>": {claims of that person}}}
//
// People sign in on the provider's own (development) login page with one of the
// accounts' logins (any password); a first-party client needs no consent screen, as on
// the province's single sign-on. ID tokens carry the profile and `motcua` scopes'
// claims (roles, agency), as the province's provider is configured to.
// Prints "ready <issuer>" on stdout when it listens.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const accounts = config.accounts || {};

const provider = new Provider(config.issuer, {
  clients: config.clients.map((c) => ({
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: c.client_secret ? "client_secret_basic" : "none",
    ...c,
  })),
  jwks: { keys: config.keys },
  scopes: ["openid", "profile", "motcua"],
  claims: {
    openid: ["sub"],
    profile: ["name"],
    motcua: ["roles", "agency", "citizen_id"],
  },
  // The claims of the granted scopes go into the ID token itself (the API reads roles
  // and agency from it), not only to the userinfo endpoint.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  ttl: { IdToken: config.idTokenTtl || 3600, Session: 3600, Interaction: 600, Grant: 3600 },
  async findAccount(_ctx, id) {
    if (!Object.hasOwn(accounts, id)) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
  },
  // First-party client: grant the requested scopes without a consent screen.
  async loadExistingGrant(ctx) {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid profile motcua");
    await grant.save();
    return grant;
  },
});
// What the provider refused, in provider.log (the test fixture keeps its stderr there).
for (const event of ["server_error", "end_session.error", "authorization.error", "grant.error"]) {
  provider.on(event, (_ctx, err) => console.error(event, err, err.cause || ""));
}

const server = provider.listen(config.port, "127.0.0.1", () => {
  console.log(`ready ${config.issuer}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
