// Package segment defines the on-disk format of Floe segment objects.
//
// One ingest flush writes one segment object to S3. The object holds one
// chunk per queue (topic, queue id, lite topic). Each chunk is compressed on
// its own with zstd and checksummed, so a reader that knows a chunk's byte
// range (from the Postgres index) fetches exactly that range with one ranged
// GET and decodes it with [DecodeChunk], without the rest of the object. A
// footer indexes the chunks, so tools such as the compactor and the orphan
// garbage collector can understand an object without Postgres: fetch the
// last [TrailerSize] bytes, call [FooterLength], fetch the footer, and call
// [DecodeFooterBytes] (or call [DecodeFooter] on a whole object).
//
// [Encode] writes a whole object; a [Writer] writes one chunk by chunk into a
// single buffer (the compactor's merges). [EncodeChunk] encodes one chunk on
// its own and [Assemble] builds an object from encoded chunks without
// recompressing them. [DecodeChunk] returns records that share no memory
// with the chunk's bytes; [DecodeOwnedChunk] lets a stored chunk's records
// point into bytes the caller hands over.
//
// # Object layout
//
// All fixed-width integers are little-endian. "uvarint" and "varint" are the
// encodings of encoding/binary (varint is zig-zag signed); a varint must be
// in its shortest form, so every value has exactly one encoding.
// "string" is a uvarint byte length followed by that many bytes.
//
//	+-----------------------------+ offset 0
//	| chunk 0                     |
//	| chunk 1                     |  chunks are contiguous, in the order
//	| ...                         |  given to Encode, no padding
//	| chunk N-1                   |
//	+-----------------------------+ F = sum of chunk lengths
//	| footer (footer length bytes)|
//	+-----------------------------+
//	| trailer (TrailerSize = 16)  |
//	+-----------------------------+ object length
//
// # Chunk
//
// A chunk is a fixed 24-byte header followed by the record block,
// zstd-compressed or stored as it is:
//
//	offset size  field
//	0      4     magic "FLCK"
//	4      1     chunk format version (1 or 2)
//	5      1     codec (1 = zstd; 0 = stored, only in version 2)
//	6      2     reserved, must be 0 (uint16)
//	8      4     record count (uint32, >= 1)
//	12     4     raw length: uncompressed record block length (uint32, <= 64 MiB)
//	16     4     payload length: bytes after the header (uint32)
//	20     4     CRC-32C (Castagnoli) of header bytes [0,20) followed by the payload
//	24     P     payload: one zstd frame holding the record block, or the
//	             record block itself (stored: P equals the raw length)
//
// The chunk length is exactly 24 + payload length. The zstd frame must
// declare its Frame_Content_Size, equal to the raw length (the encoder
// writes single-segment frames, which always do), and use no dictionary.
// The checksum is verified before decompression; decompression is capped at
// the raw length, and the decompressed length must equal it.
//
// The encoder stores a record block when compressing it is not worth the
// CPU: when zstd does not shrink its first 4 KiB by a tenth (bodies that are
// compressed, encrypted or random already), or does not shrink the whole.
// Version 2 added the stored codec; zstd chunks are still written as version
// 1, so readers that know only version 1 read every chunk they read before.
// A reader that knows only version 1 refuses stored chunks: upgrade readers
// (and compactors) before ingest nodes.
//
// # Record block
//
// The record block is the concatenation of the chunk's records, each encoded
// as:
//
//	uint8    presence bits: bit0 BornTime, bit1 StoreTime, bit2 DeliveryTime
//	         (set when the time is not zero); bits 3..7 must be 0
//	uvarint  Flags (<= 2^32-1)
//	varint   BornTime as Unix milliseconds      (only if bit0)
//	varint   StoreTime as Unix milliseconds     (only if bit1)
//	varint   DeliveryTime as Unix milliseconds  (only if bit2)
//	string   MessageID
//	string   Tag
//	uvarint  number of keys K, then K strings
//	uvarint  number of properties P, then P pairs (string key, string value),
//	         keys in strictly increasing byte order
//	string   MessageGroup
//	string   LiteTopic
//	string   Body
//
// The block holds exactly the record count of records and nothing after the
// last one.
//
// # Footer
//
// The footer is covered by the CRC-32C in the trailer:
//
//	uvarint  chunk count N (>= 1)
//	N entries, in object order:
//	  string   Topic (not empty)
//	  varint   QueueID (int32 range)
//	  string   LiteTopic
//	  uvarint  Offset of the chunk in the object
//	  uvarint  Length of the chunk
//	  uvarint  Count (records in the chunk, >= 1)
//	  uvarint  RawBytes (uncompressed record block length, <= 64 MiB)
//	  varint   MinStoreTime as Unix milliseconds
//	  varint   MaxStoreTime as Unix milliseconds (>= MinStoreTime)
//
// The first chunk's Offset is 0 and each next Offset is the previous
// Offset + Length; the last chunk ends where the footer starts.
//
// # Trailer
//
// The trailer is the last TrailerSize (16) bytes of the object:
//
//	offset size  field
//	0      4     footer length in bytes (uint32, <= 16 MiB)
//	4      4     CRC-32C (Castagnoli) of the footer bytes
//	8      7     magic "FLOESEG"
//	15     1     object format version (1)
//
// # Normalisation
//
// Decoding returns what was encoded, except that:
//   - times are truncated to milliseconds and returned in UTC; a zero time
//     (or any time in the zero time's millisecond) comes back as the zero
//     time.Time;
//   - empty Keys (nil or empty) come back as nil;
//   - empty Properties (nil or empty) come back as nil;
//   - an empty Body (nil or empty) comes back as nil.
//
// # Versioning
//
// Readers reject any chunk version, codec or object version they do not know
// with [ErrUnsupportedVersion]. A format change that old readers cannot
// read must bump the relevant version byte.
package segment
