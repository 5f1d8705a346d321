// SPDX-License-Identifier: MIT OR Apache-2.0
//
// A small protected resource (an API) on loopback for the resource-URL tests: it names its
// authorization server in RFC 9728 metadata and accepts only access tokens whose audience is
// itself (RFC 8707 resource indicators; JWT access tokens verified with the server's keys).
//
// Contract:
//   * stdout carries exactly ONE line, once listening:
//       {"resource":"http://127.0.0.1:PORT/api","port":PORT}
//   * Environment:
//       RS_ISSUER      the authorization server whose tokens are accepted (required)
//       RS_PORT        TCP port on 127.0.0.1 (default 0 = ephemeral)
//       RS_NAMES_AS    the authorization server the metadata names (default RS_ISSUER): a hostile
//                      resource names someone else's, to collect its tokens
//       RS_MISMATCH=1  the metadata's `resource` names another resource than this one (RFC 9728
//                      §3.3 says a client must discard such metadata)
//       RS_EXIT_ON_STDIN_EOF=1  exit when stdin closes
//   * GET /api without a token: 401 with WWW-Authenticate: Bearer resource_metadata="…"
//   * GET /.well-known/oauth-protected-resource/api: the metadata
//   * GET /api with a valid token for this audience: 200 {"sub", "aud", "scope"}; otherwise 401
//     invalid_token
//   * GET /__stats: {"metadata": n, "authorized": n, "refused": n, "anonymous": n}

import { createServer } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const issuer = (process.env.RS_ISSUER || '').trim();
if (!issuer) {
  console.error('[resource] RS_ISSUER is required');
  process.exit(1);
}
const namesAs = (process.env.RS_NAMES_AS || issuer).trim();
const mismatch = process.env.RS_MISMATCH === '1';
const port = Number(process.env.RS_PORT || 0);
const stats = { metadata: 0, authorized: 0, refused: 0, anonymous: 0 };

let jwks = null;
async function keys() {
  if (!jwks) {
    const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
    jwks = createRemoteJWKSet(new URL(meta.jwks_uri));
  }
  return jwks;
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

let resource = '';
let metadataUrl = '';

const server = createServer(async (req, res) => {
  const path = (req.url || '/').split('?')[0];
  if (path === '/__stats') return send(res, 200, stats);
  if (path === '/.well-known/oauth-protected-resource/api') {
    stats.metadata += 1;
    return send(res, 200, {
      resource: mismatch ? `${resource}-elsewhere` : resource,
      authorization_servers: [namesAs],
      scopes_supported: ['api:read'],
      bearer_methods_supported: ['header'],
      resource_name: 'Test API',
    });
  }
  if (path !== '/api') return send(res, 404, { error: 'not_found' });
  const auth = req.headers.authorization || '';
  const challenge = (error) => ({
    'www-authenticate': `Bearer resource_metadata="${metadataUrl}"${error ? `, error="${error}"` : ''}`,
  });
  if (!auth.startsWith('Bearer ')) {
    stats.anonymous += 1;
    return send(res, 401, { error: 'unauthorized' }, challenge(null));
  }
  try {
    const { payload } = await jwtVerify(auth.slice(7), await keys(), { issuer, audience: resource });
    stats.authorized += 1;
    return send(res, 200, { sub: payload.sub, aud: payload.aud, scope: payload.scope });
  } catch (e) {
    stats.refused += 1;
    return send(res, 401, { error: 'invalid_token', error_description: String(e.code || e.message) }, challenge('invalid_token'));
  }
});

server.listen(port, '127.0.0.1', () => {
  const bound = server.address().port;
  resource = `http://127.0.0.1:${bound}/api`;
  metadataUrl = `http://127.0.0.1:${bound}/.well-known/oauth-protected-resource/api`;
  process.stdout.write(`${JSON.stringify({ resource, port: bound })}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.env.RS_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
