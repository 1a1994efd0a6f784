package segment

import (
	"errors"
	"fmt"
)

// Writer builds one segment object chunk by chunk in a single buffer: each chunk is
// encoded straight into the object, with no copy of it on the side. The compactor
// writes a merge through it, so that a merge holds its output once rather than as
// encoded chunks plus the assembled object.
type Writer struct {
	object []byte
	infos  []ChunkInfo
	enc    chunkEncoder
}

// NewWriter returns a Writer whose buffer starts with room for sizeHint bytes; it grows
// past that as needed.
func NewWriter(sizeHint int) *Writer {
	return &Writer{object: make([]byte, 0, max(sizeHint, 0))}
}

// Append encodes c as the object's next chunk and returns where it sits. The chunk must
// have a topic and at least one record, and its encoded records must not exceed
// MaxRawChunkSize.
func (w *Writer) Append(c ChunkInput) (ChunkInfo, error) {
	n, err := chunkRawSize(&c)
	if err != nil {
		return ChunkInfo{}, fmt.Errorf("segment: encode chunk %d (topic %q queue %d): %w", len(w.infos), c.Topic, c.QueueID, err)
	}
	return w.append(&c, n)
}

func (w *Writer) append(c *ChunkInput, rawSize int) (ChunkInfo, error) {
	object, info, err := w.enc.appendChunk(w.object, c, rawSize)
	if err != nil {
		return ChunkInfo{}, fmt.Errorf("segment: encode chunk %d (topic %q queue %d): %w", len(w.infos), c.Topic, c.QueueID, err)
	}
	w.object = object
	w.infos = append(w.infos, info)
	return info, nil
}

// Finish appends the footer and trailer and returns the object and, for each chunk in
// order, where it sits in it. The Writer is not to be used after.
func (w *Writer) Finish() (object []byte, infos []ChunkInfo, err error) {
	if len(w.infos) == 0 {
		return nil, nil, errors.New("segment: encode: no chunks")
	}
	object = w.object
	footerStart := len(object)
	object = appendFooter(object, w.infos)
	if footerLen := len(object) - footerStart; footerLen > MaxFooterSize {
		return nil, nil, fmt.Errorf("segment: encode: footer of %d bytes exceeds %d", footerLen, MaxFooterSize)
	}
	object = appendTrailer(object, object[footerStart:])
	infos = w.infos
	w.object, w.infos = nil, nil
	return object, infos, nil
}
