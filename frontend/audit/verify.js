// Verify a signed transcript bundle in the browser, exactly as
// docs/transcripts.md specifies and `mediation verify` does
// (transcripts/verify.py): one pass over the bytes, the first problem wins.
// WebCrypto does the SHA-256 and the Ed25519 signature.

const FORMAT = 'mediation.transcript/1';
const HEADER_TAG = 'mediation.record/1';
const NEWLINE = 0x0a;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

class Broken extends Error {}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(text) {
  if (typeof text !== 'string' || !/^([0-9a-f]{2})*$/i.test(text)) throw new Broken('bad hex');
  return new Uint8Array(text.match(/../g)?.map((x) => parseInt(x, 16)) ?? []);
}

function fromBase64(text) {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** An Ed25519 public key from its PEM (SubjectPublicKeyInfo). */
export async function importPem(pem) {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return crypto.subtle.importKey('spki', fromBase64(body), { name: 'Ed25519' }, false, ['verify']);
}

/** Split at newlines: [{number, bytes}] without the newline, ignoring a last empty piece. */
function lines(bytes) {
  const out = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i += 1) {
    if (bytes[i] === NEWLINE) {
      out.push({ start, end: i });
      start = i + 1;
    }
  }
  if (start < bytes.length) out.push({ start, end: bytes.length });
  return out;
}

function parse(number, raw) {
  let obj;
  try {
    obj = JSON.parse(decoder.decode(raw));
  } catch {
    throw new Broken(`line ${number}: not valid JSON`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new Broken(`line ${number}: not a JSON object`);
  }
  return obj;
}

/** The canonical header array, as msgspec.json.encode writes it (JSON.stringify matches). */
function recordHeader(roomId, r) {
  return encoder.encode(JSON.stringify([
    HEADER_TAG, roomId, r.position, String(r.channel), r.seq, String(r.kind),
    String(r.sender.user), String(r.sender.role), String(r.client_id), String(r.ts),
  ]));
}

async function checkRecord(number, obj, roomId, prev, count, shredded) {
  let where = `line ${number}, record at position ${obj.position}`;
  let header;
  let stated;
  let body = null;
  let digest = null;
  try {
    if (!Number.isInteger(obj.position) || !Number.isInteger(obj.seq)) throw new Broken();
    if (typeof obj.sender !== 'object' || obj.sender === null) throw new Broken();
    if (obj.sender.user === undefined || obj.sender.role === undefined) throw new Broken();
    for (const key of ['channel', 'kind', 'client_id', 'ts']) if (obj[key] === undefined) throw new Broken();
    header = recordHeader(roomId, obj);
    stated = fromHex(String(obj.hash));
    if (!shredded) {
      if (obj.body_sha256 !== undefined) {
        // redacted: no body, the SHA-256 of the one it had (a redaction must name it)
        if (obj.body !== null) throw new Broken();
        digest = fromHex(String(obj.body_sha256));
        if (digest.length !== 32) throw new Broken();
      } else {
        if (obj.body === undefined || obj.body === null) throw new Broken();
        body = encoder.encode(String(obj.body));
      }
    }
  } catch {
    throw new Broken(`${where}: malformed record`);
  }
  where = `${where} (${obj.channel} #${obj.seq})`;
  if (obj.position !== count + 1) {
    throw new Broken(`${where}: expected position ${count + 1} (a record is missing or moved)`);
  }
  if (shredded) return stated; // the signature still covers the stated links
  if (digest === null) digest = await sha256(body);
  const link = await sha256(concat(prev, await sha256(header), digest));
  if (toHex(link) !== toHex(stated)) {
    throw new Broken(`${where}: content does not match its hash (altered or reordered)`);
  }
  return link;
}

async function checkFooter(obj, count, head, digest, keyFor) {
  if (obj.records !== count) {
    throw new Broken(`footer: says ${obj.records} records, the bundle holds ${count}`);
  }
  if (obj.chain_head !== toHex(head)) throw new Broken('footer: chain head does not match the last record');
  if (obj.digest !== digest) throw new Broken("footer: digest does not match the bundle's bytes");
  const core = { type: 'footer', records: count, chain_head: toHex(head), digest, key_id: String(obj.key_id) };
  const key = await keyFor(String(obj.key_id));
  if (!key) throw new Broken(`footer: signing key ${JSON.stringify(obj.key_id)} is not one we publish`);
  let ok = false;
  try {
    ok = await crypto.subtle.verify('Ed25519', key, fromBase64(String(obj.signature)),
      encoder.encode(JSON.stringify(core)));
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new Broken('footer: signature does not verify with this public key '
      + `(the bundle names signing key '${obj.key_id}')`);
  }
}

/**
 * The rule of redactions (transcripts.md, "Redactions"): a record without its body must be
 * named by a later `redaction` record of its channel (a message as its target, an edit
 * among its edits); a redaction names only such records, before it.
 */
class Coverage {
  constructor() {
    this.bodiless = new Map(); // "channel #seq" -> {kind, position}
    this.named = new Set();
    this.redactions = 0;
  }

  track(number, obj) {
    const key = (seq) => `${obj.channel} #${seq}`;
    if (obj.body_sha256 !== undefined) {
      this.bodiless.set(key(obj.seq), { kind: obj.kind, position: obj.position });
      return;
    }
    if (obj.kind !== 'redaction') return;
    let named;
    try {
      const body = JSON.parse(String(obj.body));
      const edits = body.edits ?? [];
      if (!Number.isInteger(body.target) || !Array.isArray(edits)) throw new Error();
      named = [[body.target, 'message'], ...edits.map((seq) => [seq, 'edit'])];
    } catch {
      throw new Broken(`line ${number}: a redaction that does not hold: malformed`);
    }
    this.redactions += 1;
    for (const [seq, kind] of named) {
      const found = this.bodiless.get(key(seq));
      if (!found || found.kind !== kind) {
        throw new Broken(`line ${number}: a redaction that does not hold: it names `
          + `${key(seq)}, which is no ${kind} without body`);
      }
      this.named.add(key(seq));
    }
  }

  finish() {
    for (const [key, { position }] of this.bodiless) {
      if (!this.named.has(key)) {
        throw new Broken(`record at position ${position} (${key}) has no body and no redaction names it`);
      }
    }
  }
}

/**
 * @param {Uint8Array} bytes the bundle file
 * @param {(keyId: string) => Promise<CryptoKey|null>} keyFor
 * @returns {Promise<{ok: boolean, reason: string, records: number, room?: object}>}
 */
export async function verifyBundle(bytes, keyFor) {
  let room = null;
  try {
    let roomId = null;
    let shredded = false;
    let prev = new Uint8Array(32);
    let count = 0;
    const coverage = new Coverage();
    const spans = lines(bytes);
    for (let i = 0; i < spans.length; i += 1) {
      const number = i + 1;
      const { start, end } = spans[i];
      const obj = parse(number, bytes.subarray(start, end));
      if (number === 1) {
        if (obj.type !== 'header' || obj.format !== FORMAT) throw new Broken(`line 1: not a ${FORMAT} header`);
        room = obj.room;
        roomId = String(obj.room?.id);
        shredded = Boolean(obj.room?.shredded);
      } else if (obj.type === 'record') {
        prev = await checkRecord(number, obj, roomId, prev, count, shredded);
        count += 1;
        if (!shredded) coverage.track(number, obj);
      } else if (obj.type === 'footer') {
        const digest = toHex(await sha256(bytes.subarray(0, start)));
        await checkFooter(obj, count, prev, digest, keyFor);
        coverage.finish();
        const note = shredded ? ' (shredded: bodies destroyed, links not recomputable)' : '';
        const n = coverage.redactions;
        const redacted = n ? `, ${n} redaction${n === 1 ? '' : 's'}` : '';
        return { ok: true, reason: `intact${note}: ${count} records${redacted}, signed by key ${obj.key_id}`, records: count, room };
      } else {
        throw new Broken(`line ${number}: unexpected ${JSON.stringify(obj.type ?? null)} line`);
      }
    }
    throw new Broken('no footer: the bundle is truncated');
  } catch (exc) {
    if (exc instanceof Broken) return { ok: false, reason: exc.message, records: 0, room };
    throw exc;
  }
}

/** keyFor() backed by the server's published keys (/.well-known/mediation-signing-keys). */
export function publishedKeys(fetchJson) {
  let keys = null;
  return async (keyId) => {
    if (keys === null) {
      const published = await fetchJson('/.well-known/mediation-signing-keys');
      keys = new Map();
      for (const k of published.keys) if (k.alg === 'Ed25519') keys.set(k.id, await importPem(k.pem));
    }
    return keys.get(keyId) ?? null;
  };
}
