package cli

import (
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/trailwatch/trailwatch/internal/ingest/archive"
)

// Progress timing: nothing is shown for a run shorter than progressDelay,
// and the line is redrawn at most once per progressEvery.
const (
	progressDelay = time.Second
	progressEvery = 250 * time.Millisecond
)

// progress shows how a long read is going on one line of standard error
// when that is a terminal: inputs, events, alerts and the rate, and the log
// files of an S3 prefix as they are listed and read. It is
// redrawn in place at most four times a second and erased before anything
// else is written to the terminal and at the end. A nil *progress shows
// nothing; every method may be called on it.
type progress struct {
	w      io.Writer
	now    func() time.Time
	alerts bool // count alerts (check) or not (events)

	start, next   time.Time
	shown         bool
	inputs        int
	events, found int
	last          string // the input of the last event
	line          []byte

	// The log files of S3 prefixes, counted by the download goroutines.
	objMu                  sync.Mutex
	listed, done, failed   int
	listedBytes, doneBytes int64
}

// Listed counts a log file of an S3 prefix found in range
// (archive.Progress).
func (p *progress) Listed(o archive.Object) {
	if p == nil {
		return
	}
	p.objMu.Lock()
	defer p.objMu.Unlock()
	p.listed++
	p.listedBytes += o.Size
}

// Done counts a log file of an S3 prefix read to its end, or not
// completely when err says why (archive.Progress).
func (p *progress) Done(o archive.Object, err error) {
	if p == nil {
		return
	}
	p.objMu.Lock()
	defer p.objMu.Unlock()
	p.done++
	p.doneBytes += o.Size
	if err != nil {
		p.failed++
	}
}

// newProgress returns a progress line on errw when errw is a terminal,
// else nil.
func newProgress(errw io.Writer, alerts bool) *progress {
	if !isTerminal(errw) {
		return nil
	}
	return startProgress(errw, time.Now, alerts)
}

// startProgress returns a progress line on w, whatever w is.
func startProgress(w io.Writer, now func() time.Time, alerts bool) *progress {
	t := now()
	return &progress{w: w, now: now, alerts: alerts, start: t, next: t.Add(progressDelay)}
}

// event counts an event read from input.
func (p *progress) event(input string) {
	if p == nil {
		return
	}
	p.events++
	if input != p.last || p.inputs == 0 {
		p.last = input
		p.inputs++
	}
}

// alert counts an alert.
func (p *progress) alert() {
	if p != nil {
		p.found++
	}
}

// tick redraws the line when it is due. Callers call it every few dozen
// events, so that reading the clock costs nothing noticeable.
func (p *progress) tick() {
	if p == nil {
		return
	}
	t := p.now()
	if t.Before(p.next) {
		return
	}
	p.next = t.Add(progressEvery)
	p.line = append(p.line[:0], "\rtrailwatch: "...)
	p.line = append(p.line, countOf(p.inputs, "input")...)
	p.line = append(p.line, ", "...)
	p.line = appendCount(p.line, p.events)
	p.line = append(p.line, " events"...)
	if p.alerts {
		p.line = append(p.line, ", "...)
		p.line = appendCount(p.line, p.found)
		p.line = append(p.line, " alerts"...)
	}
	if s := t.Sub(p.start).Seconds(); s > 0 {
		p.line = append(p.line, ", "...)
		p.line = appendCount(p.line, int(float64(p.events)/s))
		p.line = append(p.line, " events/s"...)
	}
	p.objMu.Lock()
	if p.listed > 0 {
		p.line = append(p.line, ", S3 log files "...)
		p.line = appendCount(p.line, p.done)
		p.line = append(p.line, " of "...)
		p.line = appendCount(p.line, p.listed)
		p.line = append(p.line, " listed ("...)
		p.line = strconv.AppendFloat(p.line, float64(p.doneBytes)/(1<<20), 'f', 1, 64)
		p.line = append(p.line, " of "...)
		p.line = strconv.AppendFloat(p.line, float64(p.listedBytes)/(1<<20), 'f', 1, 64)
		p.line = append(p.line, " MiB)"...)
		if p.failed > 0 {
			p.line = append(p.line, ", "...)
			p.line = appendCount(p.line, p.failed)
			p.line = append(p.line, " failed"...)
		}
	}
	p.objMu.Unlock()
	p.line = append(p.line, "\x1b[K"...) // erase what a longer line left
	p.w.Write(p.line)
	p.shown = true
}

// clear erases the line, if one is shown, so that other output starts on
// a clean line.
func (p *progress) clear() {
	if p == nil || !p.shown {
		return
	}
	io.WriteString(p.w, "\r\x1b[K")
	p.shown = false
}

// writer returns w with the progress line erased before each write: for
// everything else written to the same terminal (results, problems).
func (p *progress) writer(w io.Writer) io.Writer {
	if p == nil {
		return w
	}
	return &clearingWriter{w: w, p: p}
}

type clearingWriter struct {
	w io.Writer
	p *progress
}

func (c *clearingWriter) Write(b []byte) (int, error) {
	c.p.clear()
	return c.w.Write(b)
}

// appendCount appends n with thousands separators: 1,234,567.
func appendCount(b []byte, n int) []byte {
	s := strconv.Itoa(n)
	if n < 0 {
		return append(b, s...)
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return b
}
