/**
 * The wire format of RFC 6455 §5: opcodes, close codes, masking, UTF-8 validation, and the
 * frame encoder and incremental decoder. No I/O and no `node:` imports.
 * @module
 */
export { Opcode, isControlOpcode, isKnownOpcode } from './opcode.ts';
export { CloseCode, isValidCloseCode } from './close-code.ts';
export { ProtocolError, type ProtocolErrorCode } from './errors.ts';
export { applyMask, xorMask, MaskKeySource, defaultRandomFill, type RandomFill } from './mask.ts';
export { Utf8Validator, isValidUtf8 } from './utf8.ts';
export {
  encodeFrame,
  encodeFrameParts,
  headerLength,
  writeHeader,
  MAX_7BIT_LENGTH,
  MAX_16BIT_LENGTH,
  MAX_HEADER_LENGTH,
  type FrameSpec,
} from './encoder.ts';
export { FrameDecoder, type FrameSink, type FrameDecoderOptions, type PayloadView } from './decoder.ts';
