/**
 * Close status codes of RFC 6455 §7.4 and which of them may travel on the wire.
 * @module
 */

/** The status codes RFC 6455 §7.4.1 defines, plus the IANA registrations 1012–1014. */
export const CloseCode = {
  /** The purpose of the connection has been fulfilled. */
  Normal: 1000,
  /** The endpoint is going away (server shutdown, page navigation). */
  GoingAway: 1001,
  /** The peer broke the protocol. */
  ProtocolError: 1002,
  /** The endpoint received a type of data it cannot accept. */
  UnsupportedData: 1003,
  /** Reserved: no status code was present. Never sent in a frame (§7.4.1). */
  NoStatusReceived: 1005,
  /** Reserved: the connection closed without a close frame. Never sent in a frame (§7.4.1). */
  Abnormal: 1006,
  /** A text message or close reason was not valid UTF-8 (§8.1). */
  InvalidPayload: 1007,
  /** The message violated the endpoint's policy. */
  PolicyViolation: 1008,
  /** A frame or message exceeded the size the endpoint accepts. */
  MessageTooBig: 1009,
  /** The client expected an extension the server did not negotiate. */
  MandatoryExtension: 1010,
  /** The server met an unexpected condition (an exception in a handler). */
  InternalError: 1011,
  /** The server is restarting. */
  ServiceRestart: 1012,
  /** The server is overloaded; try again later. */
  TryAgainLater: 1013,
  /** A gateway received an invalid response upstream. */
  BadGateway: 1014,
  /** Reserved: the TLS handshake failed. Never sent in a frame (§7.4.1). */
  TlsHandshake: 1015,
} as const;

/**
 * Whether a status code may appear in a close frame (RFC 6455 §7.4.1, §7.4.2):
 * 1000–1003 and 1007–1014 from the registry, 3000–3999 for libraries and frameworks,
 * 4000–4999 for private use. 1004–1006 and 1015 are reserved and never sent.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) ||
      (code >= 1007 && code <= 1014) ||
      (code >= 3000 && code <= 4999))
  );
}
