import { Duplex } from 'node:stream';
import { encodeFrame, FrameDecoder, type Frame } from '../protocol/frame';
import { joined } from '../protocol/pieces';

/** A reply as the rank reads it: its header, and its body in one buffer. */
export interface Reply {
  header: Frame['header'];
  body: Buffer;
}

/**
 * For tests: the rank's end of its channel to the agent. `send` writes a request frame as the
 * shim would, `reply` waits for the agent's next answer.
 */
export function fakeRankSocket(name = 'rank') {
  const replies: Frame[] = [];
  const decoder = new FrameDecoder();
  const socket = new Duplex({
    read: () => undefined,
    write: (chunk: Buffer, _encoding, done) => {
      replies.push(...decoder.push(chunk));
      done();
    },
  });
  const send = (header: object, body?: Buffer): void => {
    for (const buffer of encodeFrame(header, body ? [body] : [])) socket.push(buffer);
  };
  /** The next reply, once it has been written. */
  const reply = async (): Promise<Reply> => {
    for (let i = 0; i < 200 && replies.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 2));
    const next = replies.shift();
    if (!next) throw new Error(`${name}: no reply`);
    return { header: next.header, body: joined(next.body) };
  };
  return { socket, send, reply };
}
