/**
 * The unit of rank traffic stored in an agent's inbox: `u32 LE headerLen | JSON | body`.
 * One envelope may address several ranks (`d`), so a fan-out is stored once per agent.
 */

export type EnvelopeHeader =
  /** Point-to-point message from comm rank `s` (world rank `w`) with `tag`; `y` asks for a sync ack. */
  | { t: 'p'; d: number[]; c: string; s: number; w: number; g: number; y?: string }
  /** Collective contribution number `q` on context `c` from comm rank `s` (-1: a barrier release). */
  | { t: 'c'; d: number[]; c: string; q: number; s: number }
  /** Acknowledges that sync send `y` was matched. */
  | { t: 'a'; d: number[]; y: string };

export interface Envelope {
  header: EnvelopeHeader;
  body: Buffer;
}

export function encodeEnvelope(header: EnvelopeHeader, body?: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32LE(json.length, 0);
  return body && body.length > 0 ? Buffer.concat([prefix, json, body]) : Buffer.concat([prefix, json]);
}

export function decodeEnvelope(raw: Buffer): Envelope {
  const headerLength = raw.readUInt32LE(0);
  const header = JSON.parse(raw.toString('utf8', 4, 4 + headerLength)) as EnvelopeHeader;
  return { header, body: raw.subarray(4 + headerLength) };
}
