export { tcp } from './transport.js'
export type { TcpInit } from './options.js'
export {
  FrameDecoder,
  FRAME_HEADER_BYTES,
  MAX_WIRE_FRAME_BYTES,
  encodeFrame,
  writeFrameHeader,
  checkMaxFrameBytes
} from './frame-decoder.js'
export type { FrameDecoderOptions } from './frame-decoder.js'
