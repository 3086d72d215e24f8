package ingest

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/iotest"
)

// TestWindowLikeBufio reads the same stream through a window and a
// bufio.Reader with the same random Peeks and Discards, holding some of the
// window's buffers as batches do: both see the same bytes, and bytes
// handed out while their buffer was held are never overwritten.
func TestWindowLikeBufio(t *testing.T) {
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i*7 + i/1000)
	}
	for _, tc := range []struct {
		name string
		rd   func() io.Reader
	}{
		{"whole", func() io.Reader { return bytes.NewReader(data) }},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }},
		{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var pool sync.Pool
			w := newWindow(tc.rd(), &pool)
			br := bufio.NewReaderSize(tc.rd(), bufSize)
			type held struct {
				wb   *winBuf
				got  []byte
				want []byte
			}
			var holds []held
			for step := 0; ; step++ {
				n := 1 + rng.IntN(4096)
				if rng.IntN(50) == 0 {
					n = bufSize + 1
				}
				gw, ew := w.Peek(n)
				gb, eb := br.Peek(n)
				if !bytes.Equal(gw, gb) || (ew == nil) != (eb == nil) {
					t.Fatalf("step %d: Peek(%d) gave %d bytes, %v; bufio %d bytes, %v", step, n, len(gw), ew, len(gb), eb)
				}
				if len(gw) == 0 && ew == io.EOF {
					break
				}
				if rng.IntN(3) == 0 && len(gw) > 0 {
					// A batch keeps a record lying in the window.
					w.buf.hold()
					holds = append(holds, held{w.buf, gw, bytes.Clone(gw)})
				}
				if len(holds) > 0 && rng.IntN(4) == 0 {
					i := rng.IntN(len(holds))
					holds[i].wb.release()
					holds = append(holds[:i], holds[i+1:]...)
				}
				for _, h := range holds {
					if !bytes.Equal(h.got, h.want) {
						t.Fatalf("step %d: held bytes were overwritten", step)
					}
				}
				d := rng.IntN(min(len(gw), 6000) + 1)
				w.Discard(d)
				br.Discard(d)
			}
			for _, h := range holds {
				h.wb.release()
			}
			w.close()
		})
	}
}
