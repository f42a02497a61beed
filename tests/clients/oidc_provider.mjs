// A real OpenID Provider for the tests: panva's oidc-provider (OpenID Certified), with its
// development login and consent forms (devInteractions: any login, any password).
//
//   node oidc_provider.mjs CONFIG.json
//
// CONFIG: {"port": 0, "kid": "key-1", "clients": [{client_id, client_secret, redirect_uris}],
//          "accounts": {"<login>": {"claims": {...}, "userinfoOnly": [...], "mischief": {...}}}}
//
// An account's `sub` is its login. `claims` are what the provider says about it (email,
// email_verified, name, preferred_username); the names in `userinfoOnly` are left out of the
// ID token and answered by userinfo only. `mischief` makes the provider misbehave for that
// account, for the tests of a relying party that must refuse: the ID token the token endpoint
// answers is signed again, by this provider's own key, with these changes:
//   {"expiresIn": -60}        exp (and iat) in the past
//   {"aud": "someone-else"}   another audience
// Prints "listening on <issuer>" once it serves.

import { readFileSync } from 'node:fs';

import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = config.accounts;

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: config.kid, alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: { keys: [signingJwk] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  // Scope claims in the ID token too (as Google and Keycloak do), except an account's
  // `userinfoOnly` ones: both ways a relying party learns the email are exercised.
  conformIdTokenClaims: false,
  cookies: { keys: ['gotong-test-provider-cookie-key'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, userinfo: { enabled: true } },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 600,
    Session: 600,
    Grant: 600,
  },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims(use) {
        const claims = { sub: id, ...account.claims };
        if (use === 'id_token') {
          for (const name of account.userinfoOnly ?? []) delete claims[name];
        }
        return claims;
      },
    };
  },
});

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body?.id_token) return;
  const claims = decodeJwt(ctx.body.id_token);
  const mischief = accounts[claims.sub]?.mischief;
  if (!mischief) return;
  const now = Math.floor(Date.now() / 1000);
  if (mischief.expiresIn !== undefined) {
    claims.exp = now + mischief.expiresIn;
    claims.iat = claims.exp - 600;
  }
  if (mischief.aud !== undefined) claims.aud = mischief.aud;
  ctx.body = {
    ...ctx.body,
    id_token: await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: config.kid })
      .sign(privateKey),
  };
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
