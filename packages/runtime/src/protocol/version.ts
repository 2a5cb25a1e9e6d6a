/** Version of the rank ⇄ agent protocol (PROTOCOL.md). Bumped on any incompatible change. */
export const PROTOCOL_VERSION = 2;
