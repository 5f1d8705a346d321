// SPDX-License-Identifier: MIT OR Apache-2.0
//
// Loopback OpenID Connect authorization server for Connected Accounts.
//
// Used by the Rust integration tests, the end-to-end tests and the app's demo
// mode. It wraps oidc-provider (pinned in package.json) with one public native
// client, development login/consent forms, and a small /__stats endpoint that
// counts what happened so tests can assert on server-side effects.
//
// Contract:
//   * stdout carries exactly ONE line, once listening:
//       {"issuer":"http://127.0.0.1:PORT","port":PORT}
//     Every other message goes to stderr.
//   * Environment:
//       IDP_PORT          TCP port on 127.0.0.1 (default 0 = ephemeral)
//       IDP_CLIENT_ID     client_id of the public native client
//                         (default connected-accounts-demo)
//       IDP_ACCESS_TTL    access token lifetime, seconds (default 3600)
//       IDP_ID_TOKEN_TTL  ID token lifetime, seconds (default 3600)
//       IDP_REFRESH_TTL   refresh token lifetime, seconds (default 1209600 = 14 days)
//       IDP_PAR           pushed authorization requests (RFC 9126): on (default, as
//                         oidc-provider ships), off, or required
//       IDP_GITLAB=1      also answer as a GitLab instance does for the app's built-in
//                         GitLab profile (providers configure gitlab --set base=ISSUER):
//                         /oauth/authorize, /oauth/token, /oauth/revoke and /api/v4/user
//                         (claims id, username, email under the read_user scope, which
//                         needs openid too), and a refresh token with every grant
//       IDP_DEVICE=off    no device authorization grant (RFC 8628; default on)
//       IDP_EMAIL_VERIFIED=0  claim e-mail addresses as not verified (default: verified)
//       IDP_EXIT_ON_STDIN_EOF=1  exit when stdin reaches end-of-file, so a
//                         crashed parent holding the pipe cannot leave an
//                         orphan server behind (off by default)
//       IDP_DEBUG=1       log every request line to stderr
//       IDP_REGISTRATION  dynamic client registration (RFC 7591) with its management (RFC 7592,
//                         the registration access token rotated on every update): off (default),
//                         open, or iat (an initial access token is required: the value of
//                         IDP_INITIAL_ACCESS_TOKEN)
//       IDP_SECRET_TTL=N  issued client secrets expire after N seconds (client_secret_expires_at),
//                         and each RFC 7592 update extends them by N; registering then needs the
//                         initial access token the handshake line carries as
//                         "initial_access_token" (oidc-provider applies the expiry as a policy of
//                         that token)
//       IDP_CLIENT_AUTH=secret  offer only secret-based client authentication
//                         (client_secret_basic, client_secret_post), as many servers do
//   * Resource indicators (RFC 8707) are accepted for any resource on 127.0.0.1 (a test API
//     such as tests/idp/resource.mjs): its access token is a JWT whose audience is that resource,
//     with the resource's scopes api:read and api:write. IDP_RESOURCE_INDICATORS=off ignores the `resource`
//     parameter instead, as servers without RFC 8707 (GitHub, for one) do: tokens stay general.
//       IDP_DPOP          sender-constrained tokens (DPoP, RFC 9449): off (default), on (a
//                         client that sends a proof gets tokens bound to its key; public
//                         clients' refresh tokens too), or nonce (as on, and every proof must
//                         carry a server nonce: the first one is answered use_dpop_nonce)
//       IDP_EXACT_REDIRECTS=1  match redirect URIs exactly, loopback ports included (oidc-provider,
//                         like RFC 8252, otherwise ignores a native client's loopback port)
//   * GET /__stats returns event counters as JSON; POST /__stats/reset zeroes them.
//   * POST /__outage/start makes the token endpoint answer 503 temporarily_unavailable, as a
//     provider in an outage does, until POST /__outage/stop (grants survive it).
//   * SIGTERM / SIGINT close the listener and exit 0.

// oidc-provider prints its "NOTICE" lines with console.info, i.e. to stdout.
// stdout is reserved for the single handshake line, so route the console's
// stdout-bound methods to stderr before the library is loaded.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

import { createServer } from 'node:http';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const { default: Provider, errors } = await import('oidc-provider');

const HOST = '127.0.0.1';
const PAR_MODES = ['on', 'off', 'required'];
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

function log(...args) {
  console.error('[idp]', ...args);
}

function fail(message) {
  log(`error: ${message}`);
  process.exit(1);
}

function envInt(name, fallback, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) fail(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  const value = Number(raw.trim());
  if (value < min || value > max) fail(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

const config = {
  port: envInt('IDP_PORT', 0, { max: 65535 }),
  clientId: (process.env.IDP_CLIENT_ID || '').trim() || 'connected-accounts-demo',
  accessTtl: envInt('IDP_ACCESS_TTL', 3600, { min: 1 }),
  idTokenTtl: envInt('IDP_ID_TOKEN_TTL', 3600, { min: 1 }),
  refreshTtl: envInt('IDP_REFRESH_TTL', 14 * 24 * 60 * 60, { min: 1 }),
  par: (process.env.IDP_PAR || 'on').trim(),
  gitlab: process.env.IDP_GITLAB === '1',
  emailVerified: process.env.IDP_EMAIL_VERIFIED !== '0',
  device: process.env.IDP_DEVICE !== 'off',
  exitOnStdinEof: process.env.IDP_EXIT_ON_STDIN_EOF === '1',
  debug: process.env.IDP_DEBUG === '1',
  registration: (process.env.IDP_REGISTRATION || 'off').trim(),
  initialAccessToken: (process.env.IDP_INITIAL_ACCESS_TOKEN || '').trim(),
  secretOnly: process.env.IDP_CLIENT_AUTH === 'secret',
  exactRedirects: process.env.IDP_EXACT_REDIRECTS === '1',
  secretTtl: envInt('IDP_SECRET_TTL', 0),
  dpop: (process.env.IDP_DPOP || 'off').trim(),
};
const REGISTRATION_MODES = ['off', 'open', 'iat'];

// ---------------------------------------------------------------------------
// Counters exposed at /__stats
// ---------------------------------------------------------------------------

function freshStats() {
  return {
    auth_code_success: 0,
    refresh_success: 0,
    device_code_success: 0,
    auth_code_error: 0,
    refresh_error: 0,
    // A rotated (already used) refresh token was presented again: the server
    // answered invalid_grant and revoked the whole grant.
    refresh_reuse_detected: 0,
    device_code_error: 0,
    // An authorization code was redeemed twice: invalid_grant, and the grant
    // (with every token issued from that code) was revoked.
    code_reuse_detected: 0,
    // Revocation requests answered 200 that actually destroyed a token.
    revocation_success: 0,
    // Every revocation request answered 200 (RFC 7009 also answers 200 for
    // unknown or already revoked tokens).
    revocation_requests: 0,
    grant_revoked: 0,
    authorization_success: 0,
    authorization_error: 0,
    access_denied: 0,
    interaction_started: 0,
    // Each sign-in's `prompt` and `login_hint` as the server received them (pushed or not).
    prompts: [],
    login_hints: [],
    userinfo_success: 0,
    userinfo_error: 0,
    introspection_success: 0,
    device_authorization_success: 0,
    // Dynamic registrations (RFC 7591) made, and deleted through RFC 7592.
    registration_created: 0,
    registration_deleted: 0,
    registration_updated: 0,
    // "<event>:<error code>" -> count, for everything else that went wrong.
    errors: {},
  };
}

let stats = freshStats();

function countError(eventName, err) {
  const key = `${eventName}:${err?.error || err?.name || 'unknown'}`;
  stats.errors[key] = (stats.errors[key] || 0) + 1;
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

// ---------------------------------------------------------------------------
// Listen first (the issuer must carry the real port), then build the provider
// ---------------------------------------------------------------------------

let providerHandler = null;
let outage = false;

const server = createServer((req, res) => {
  const path = (req.url || '/').split('?')[0];
  if (config.debug) log(req.method, req.url);

  if (path === '/__stats') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method_not_allowed' });
    return sendJson(res, 200, stats);
  }
  if (path === '/__stats/reset') {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' });
    stats = freshStats();
    return sendJson(res, 200, stats);
  }
  if (path === '/__outage/start' || path === '/__outage/stop') {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' });
    outage = path === '/__outage/start';
    return sendJson(res, 200, { outage });
  }
  if (outage && path === '/token') {
    return sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'the test switched an outage on' });
  }
  if (!providerHandler) {
    return sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'starting up' });
  }
  return providerHandler(req, res);
});

if (!REGISTRATION_MODES.includes(config.registration)) fail(`IDP_REGISTRATION must be one of ${REGISTRATION_MODES.join(', ')}, got ${JSON.stringify(config.registration)}`);
if (config.registration === 'iat' && !config.initialAccessToken) fail('IDP_REGISTRATION=iat needs IDP_INITIAL_ACCESS_TOKEN');
if (!['off', 'on', 'nonce'].includes(config.dpop)) fail(`IDP_DPOP must be one of off, on, nonce, got ${JSON.stringify(config.dpop)}`);
if (!PAR_MODES.includes(config.par)) fail(`IDP_PAR must be one of ${PAR_MODES.join(', ')}, got ${JSON.stringify(config.par)}`);

server.on('error', (err) => fail(`cannot listen on ${HOST}:${config.port}: ${err.message}`));

// Key generation runs on the thread pool while the socket is being bound.
const keyPromise = promisify(generateKeyPair)('rsa', { modulusLength: 2048 });

await new Promise((resolve) => server.listen(config.port, HOST, resolve));
const { port } = server.address();
const issuer = `http://${HOST}:${port}`;

const { privateKey } = await keyPromise;
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: `ca-${randomBytes(6).toString('hex')}` };

function displayName(login) {
  const s = String(login);
  return s.length ? s[0].toUpperCase() + s.slice(1) + ' Example' : 'Example';
}

function htmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

// oidc-provider's built-in development store keeps about 1,000 entries (several per sign-in), so
// a few hundred accounts (the refresh-storm benchmark) would silently lose their oldest grants.
// The same in-memory adapter over a store a thousand times larger.
const store = new LRU({ maxSize: 1_000_000 });

const provider = new Provider(issuer, {
  adapter: (model) => new MemoryAdapter(model, store),
  clients: [
    {
      client_id: config.clientId,
      client_name: 'Connected Accounts',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', ...(config.device ? [DEVICE_CODE_GRANT] : [])],
      response_types: ['code'],
      redirect_uris: [
        'http://127.0.0.1/callback',
        'http://[::1]/callback',
        'io.github.connectedaccounts:/oauth/callback',
      ],
    },
  ],
  responseTypes: ['code'],
  // An expired client secret is refused at once (the default tolerance is 15 s).
  ...(config.secretTtl > 0 ? { clockTolerance: 0 } : {}),
  ...(config.secretOnly ? { clientAuthMethods: ['client_secret_basic', 'client_secret_post'] } : {}),
  // api:read and api:write are the test APIs' scopes (resource indicators, below): listed so registrations may
  // name them, as a server lists the scopes of the APIs it serves.
  scopes: ['openid', 'profile', 'email', 'offline_access', 'api:read', 'api:write', ...(config.gitlab ? ['read_user'] : [])],
  ...(config.gitlab ? {
    routes: {
      authorization: '/oauth/authorize',
      token: '/oauth/token',
      revocation: '/oauth/revoke',
      userinfo: '/api/v4/user',
    },
  } : {}),
  claims: {
    ...(config.gitlab ? { read_user: ['id', 'username', 'email'] } : {}),
    acr: null,
    sid: null,
    auth_time: null,
    iss: null,
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          id,
          username: id,
          name: displayName(id),
          email: `${id}@example.test`,
          email_verified: config.emailVerified,
        };
      },
    };
  },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: config.device },
    introspection: {
      enabled: true,
      // Same rule as the library's default: a public client may only look at its own tokens.
      allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
    },
    revocation: {
      enabled: true,
      allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
    },
    userinfo: { enabled: true },
    dPoP: {
      enabled: config.dpop !== 'off',
      nonceSecret: config.dpop === 'nonce' ? randomBytes(32) : undefined,
      requireNonce: () => config.dpop === 'nonce',
    },
    registration: config.secretTtl > 0 ? {
      enabled: true,
      initialAccessToken: true,
      policies: {
        'secret-ttl': (_ctx, properties) => {
          if (properties.client_secret) {
            properties.client_secret_expires_at = Math.floor(Date.now() / 1000) + config.secretTtl;
          }
        },
      },
    } : {
      enabled: config.registration !== 'off',
      initialAccessToken: config.registration === 'iat' ? config.initialAccessToken : false,
    },
    registrationManagement: {
      enabled: config.registration !== 'off' || config.secretTtl > 0,
      rotateRegistrationAccessToken: true,
    },
    resourceIndicators: {
      enabled: process.env.IDP_RESOURCE_INDICATORS !== 'off',
      // Resource indicators the app sends only with `connect --resource`: loopback test APIs.
      async getResourceServerInfo(_ctx, resourceIndicator) {
        let url;
        try { url = new URL(resourceIndicator); } catch { url = null; }
        if (!url || url.hostname !== '127.0.0.1') throw new errors.InvalidTarget();
        return {
          scope: 'api:read api:write',
          audience: resourceIndicator,
          accessTokenTTL: config.accessTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
    pushedAuthorizationRequests: {
      enabled: config.par !== 'off',
      requirePushedAuthorizationRequests: config.par === 'required',
    },
  },
  rotateRefreshToken: true,
  issueRefreshToken: async (_ctx, client, code) => (
    client.grantTypeAllowed('refresh_token') && (config.gitlab || code.scopes.has('offline_access'))
  ),
  ttl: {
    AccessToken: config.accessTtl,
    IdToken: config.idTokenTtl,
    RefreshToken: config.refreshTtl,
    AuthorizationCode: 600,
    DeviceCode: 600,
    Interaction: 3600,
    Session: 14 * 24 * 60 * 60,
    // A grant must outlive its refresh tokens, or refreshing fails early.
    Grant: Math.max(config.refreshTtl, 14 * 24 * 60 * 60),
  },
  clientBasedCORS: () => true,
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Error</title></head><body>'
      + `<h1>oops! something went wrong</h1><p id="error">${htmlEscape(out.error)}</p>`
      + `<p id="error_description">${htmlEscape(out.error_description || '')}</p></body></html>`;
  },
});

// --- event counters --------------------------------------------------------

provider.on('grant.success', (ctx) => {
  switch (ctx.oidc.params.grant_type) {
    case 'authorization_code': stats.auth_code_success += 1; break;
    case 'refresh_token': stats.refresh_success += 1; break;
    case DEVICE_CODE_GRANT: stats.device_code_success += 1; break;
    default: break;
  }
});

provider.on('grant.error', (ctx, err) => {
  countError('grant.error', err);
  switch (ctx.oidc?.params?.grant_type) {
    case 'authorization_code':
      stats.auth_code_error += 1;
      if (err?.error === 'invalid_grant' && /already consumed/.test(err.error_detail || '')) {
        stats.code_reuse_detected += 1;
      }
      break;
    case 'refresh_token':
      stats.refresh_error += 1;
      // The public error_description is generic; the reason is in error_detail.
      if (err?.error === 'invalid_grant' && /already used/.test(err.error_detail || '')) {
        stats.refresh_reuse_detected += 1;
      }
      break;
    case DEVICE_CODE_GRANT: stats.device_code_error += 1; break;
    default: break;
  }
});

provider.on('grant.revoked', () => { stats.grant_revoked += 1; });
provider.on('authorization.success', () => { stats.authorization_success += 1; });
provider.on('authorization.error', (_ctx, err) => {
  stats.authorization_error += 1;
  if (err?.error === 'access_denied') stats.access_denied += 1;
  countError('authorization.error', err);
});
provider.on('interaction.started', (ctx, prompt) => {
  stats.interaction_started += 1;
  // Once per sign-in: at its first interaction (login; the scripted browser keeps no session).
  if (prompt?.name === 'login') {
    stats.prompts.push(ctx.oidc?.params?.prompt ?? null);
    stats.login_hints.push(ctx.oidc?.params?.login_hint ?? null);
  }
});
provider.on('userinfo.error', (_ctx, err) => { stats.userinfo_error += 1; countError('userinfo.error', err); });
provider.on('device_authorization.success', () => { stats.device_authorization_success += 1; });
for (const name of ['revocation.error', 'introspection.error', 'device_authorization.error', 'code_verification.error', 'end_session.error']) {
  provider.on(name, (_ctx, err) => countError(name, err));
}
provider.on('server_error', (ctx, err) => {
  countError('server_error', err);
  log('server_error', ctx?.method, ctx?.path, err?.stack || err);
});

// The revocation endpoint emits no success event. A token model's "destroyed"
// event fires inside the request's async context, where Provider.ctx is the
// request; mark it there and count once the response is known to be 200.
for (const kind of ['access_token', 'refresh_token']) {
  provider.on(`${kind}.destroyed`, () => {
    const ctx = Provider.ctx;
    if (ctx?.oidc?.route === 'revocation') ctx.state.caRevokedToken = kind;
  });
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.status !== 200) return;
  switch (ctx._matchedRouteName) {
    case 'revocation':
      stats.revocation_requests += 1;
      if (ctx.state.caRevokedToken) stats.revocation_success += 1;
      break;
    case 'userinfo': stats.userinfo_success += 1; break;
    case 'introspection': stats.introspection_success += 1; break;
    default: break;
  }
});

provider.on('registration_create.success', () => { stats.registration_created += 1; });
provider.on('registration_update.success', () => { stats.registration_updated += 1; });
provider.on('registration_delete.success', () => { stats.registration_deleted += 1; });
for (const name of ['registration_create.error', 'registration_read.error', 'registration_update.error', 'registration_delete.error']) {
  provider.on(name, (_ctx, err) => countError(name, err));
}

if (config.exactRedirects) {
  // Exactly as registered, port included: what many servers do for every client.
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
    return this.redirectUris.includes(value);
  };
}

providerHandler = provider.callback();

// --- handshake line --------------------------------------------------------

const initialAccessToken = config.secretTtl > 0
  ? await new provider.InitialAccessToken({ policies: ['secret-ttl'] }).save()
  : undefined;
process.stdout.write(`${JSON.stringify({ issuer, port, initial_access_token: initialAccessToken })}\n`);
log(`listening: issuer=${issuer} client_id=${config.clientId} ttl(access=${config.accessTtl}s id_token=${config.idTokenTtl}s refresh=${config.refreshTtl}s)`);

// --- shutdown ----------------------------------------------------------------

let stopping = false;
function stop(reason) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${reason})`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  // Never hang on shutdown.
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

if (config.exitOnStdinEof) {
  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();
}
