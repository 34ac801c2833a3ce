// The capture layer: streaming pcap and pcapng writers, and a reader for both.
export {
  DEFAULT_SNAPLEN,
  LINKTYPE_ETHERNET,
  PCAP_MAGIC_NS,
  PCAP_MAGIC_US,
  SECRETS_TYPE,
} from "./layouts.js";
export { encodePcapFileHeader, PcapWriter, type PcapWriterOptions, type TimestampResolution } from "./pcap.js";
export {
  encodeDecryptionSecrets,
  encodeInterfaceDescription,
  encodeSectionHeader,
  type InterfaceOptions,
  type PcapngInterface,
  PcapngWriter,
  type PcapngWriterOptions,
} from "./pcapng.js";
export { parseCapture, readCapture } from "./reader.js";
export {
  type ByteOrder,
  type Capture,
  type CaptureError,
  type CaptureErrorKind,
  type CaptureFormat,
  type CaptureInterface,
  type CaptureRecord,
  type CaptureSection,
  type DecryptionSecrets,
  formatCaptureError,
} from "./records.js";
export { type ByteSink, type CapturableFrame, type CaptureTarget, DEFAULT_BUFFER_SIZE, MemorySink, type WriterOptions } from "./sink.js";
