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
//       RS_DPOP_NONCE=1  proofs must carry this server's nonce (RFC 9449 §9): a proof without it
//                      is answered 401 use_dpop_nonce with a DPoP-Nonce header
//       RS_EXIT_ON_STDIN_EOF=1  exit when stdin closes
//   * GET /api without a token: 401 with WWW-Authenticate: Bearer resource_metadata="…"
//   * GET /.well-known/oauth-protected-resource/api: the metadata
//   * GET /api with a valid token for this audience: 200 {"sub", "aud", "scope", "bound"};
//     otherwise 401 invalid_token. A token bound to a key (`cnf.jkt`) is accepted only as
//     `Authorization: DPoP` with a proof of that key (RFC 9449 §7: typ, alg, htm, htu, iat, ath,
//     a jti never seen before, the nonce when required); as Bearer it is refused.
//   * GET /api/admin needs the scope api:write: without it, 403 insufficient_scope naming it
//     (RFC 6750 §3.1), for step-up.
//   * GET /__stats: {"metadata", "authorized", "refused", "anonymous", "bound", "proof_refused",
//     "nonce_challenges", "replays", "insufficient_scope"} (counts), and "last_refusal"

import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { calculateJwkThumbprint, createRemoteJWKSet, EmbeddedJWK, jwtVerify } from 'jose';

const issuer = (process.env.RS_ISSUER || '').trim();
if (!issuer) {
  console.error('[resource] RS_ISSUER is required');
  process.exit(1);
}
const namesAs = (process.env.RS_NAMES_AS || issuer).trim();
const mismatch = process.env.RS_MISMATCH === '1';
const port = Number(process.env.RS_PORT || 0);
const requireNonce = process.env.RS_DPOP_NONCE === '1';
const stats = {
  metadata: 0, authorized: 0, refused: 0, anonymous: 0, bound: 0, proof_refused: 0,
  nonce_challenges: 0, replays: 0, insufficient_scope: 0, last_refusal: null,
};
const seenJti = new Set();
let nonce = randomBytes(16).toString('base64url');

// A DPoP proof for this request and token, checked as RFC 9449 §4.3 asks; returns the key's
// thumbprint or throws { code, nonce } (nonce: answer use_dpop_nonce).
async function checkProof(req, token, url) {
  const proof = req.headers.dpop;
  if (!proof || Array.isArray(proof)) throw { code: 'no single DPoP proof' };
  let verified;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
  } catch (e) {
    throw { code: `bad proof: ${e.code || e.message}` };
  }
  const { payload, protectedHeader } = verified;
  if (payload.htm !== req.method) throw { code: 'htm mismatch' };
  if (payload.htu !== url) throw { code: `htu mismatch: ${payload.htu}` };
  if (typeof payload.iat !== 'number' || Math.abs(Date.now() / 1000 - payload.iat) > 60) throw { code: 'iat not recent' };
  const ath = createHash('sha256').update(token).digest('base64url');
  if (payload.ath !== ath) throw { code: 'ath mismatch' };
  if (typeof payload.jti !== 'string' || !payload.jti) throw { code: 'no jti' };
  if (requireNonce && payload.nonce !== nonce) throw { code: 'use_dpop_nonce', nonce: true };
  if (seenJti.has(payload.jti)) {
    stats.replays += 1;
    throw { code: 'jti replayed' };
  }
  seenJti.add(payload.jti);
  return calculateJwkThumbprint(protectedHeader.jwk);
}

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
let origin = '';
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
  if (path !== '/api' && path !== '/api/admin') return send(res, 404, { error: 'not_found' });
  const auth = req.headers.authorization || '';
  const challenge = (error, scheme = 'Bearer') => ({
    'www-authenticate': `${scheme} resource_metadata="${metadataUrl}"${error ? `, error="${error}"` : ''}`,
  });
  const refuse = (why, headers = challenge('invalid_token')) => {
    stats.refused += 1;
    stats.last_refusal = why;
    return send(res, 401, { error: 'invalid_token', error_description: why }, headers);
  };
  const [scheme, token] = auth.split(' ', 2);
  if (!token || !['bearer', 'dpop'].includes(scheme.toLowerCase())) {
    stats.anonymous += 1;
    return send(res, 401, { error: 'unauthorized' }, challenge(null));
  }
  let payload;
  try {
    ({ payload } = await jwtVerify(token, await keys(), { issuer, audience: resource }));
  } catch (e) {
    return refuse(String(e.code || e.message));
  }
  const jkt = payload.cnf?.jkt;
  if (jkt && scheme.toLowerCase() !== 'dpop') return refuse('a bound token presented as a bearer token');
  if (!jkt && scheme.toLowerCase() === 'dpop') return refuse('a bearer token presented as DPoP');
  if (jkt) {
    try {
      const thumbprint = await checkProof(req, token, `${origin}${path}`);
      if (thumbprint !== jkt) throw { code: 'the proof is not by the key the token is bound to' };
    } catch (e) {
      if (e?.nonce) {
        stats.nonce_challenges += 1;
        nonce = randomBytes(16).toString('base64url');
        return send(res, 401, { error: 'use_dpop_nonce' }, {
          'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"',
          'dpop-nonce': nonce,
        });
      }
      stats.proof_refused += 1;
      return refuse(String(e?.code || e), challenge('invalid_dpop_proof', 'DPoP'));
    }
  }
  const scopes = String(payload.scope || '').split(' ');
  if (path === '/api/admin' && !scopes.includes('api:write')) {
    stats.insufficient_scope += 1;
    return send(res, 403, { error: 'insufficient_scope' }, {
      'www-authenticate': `${jkt ? 'DPoP' : 'Bearer'} error="insufficient_scope", scope="api:write", resource_metadata="${metadataUrl}"`,
    });
  }
  stats.authorized += 1;
  if (jkt) stats.bound += 1;
  return send(res, 200, { sub: payload.sub, aud: payload.aud, scope: payload.scope, bound: Boolean(jkt), path });
});

server.listen(port, '127.0.0.1', () => {
  const bound = server.address().port;
  origin = `http://127.0.0.1:${bound}`;
  resource = `${origin}/api`;
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
