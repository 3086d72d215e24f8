package cli

import (
	"bufio"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/textwidth"
)

// column is one column of a table.
type column struct {
	title string
	// width is, in a fixed layout, the column's width (0 for the last
	// column, which is not padded).
	width int
	// min is the narrowest the column is made before columns are dropped
	// to fit a line into the terminal.
	min int
	// drop orders the columns that go when a line cannot fit even with
	// every column at its min: the lowest first; 0 never goes.
	drop int
	// shrink orders the columns narrowed to fit: the lowest first.
	shrink int
	// cut shortens a cell to w columns; nil cuts its end.
	cut func(s string, w int) string
	// clip cuts cells over width in a fixed layout even when the line has
	// no limit (otherwise such a cell pushes the rest of its line right).
	clip bool
}

// table writes rows of cells in aligned columns fitted to a width: cells
// are cut (principals from the middle), columns narrowed and, when that is
// not enough, dropped in their order, so that no line is wider than the
// limit. A fixed table has set widths and writes each row at once; a
// measured one aligns each block of rows on its widest cells (never
// narrowing a column it has widened, so blocks line up) and writes it on
// emit. Cells are cleaned of control characters; an empty cell shows "-".
// Output goes to a bufio.Writer; the caller decides when to flush it.
type table struct {
	w     *bufio.Writer
	cols  []column
	limit int  // columns a line may take; 0 for no limit
	wide  bool // every column, nothing cut
	fixed bool

	header bool
	seen   []int      // widest cell of each column so far (measured)
	rows   [][]string // rows waiting for emit (measured)
	free   [][]string // row slices to reuse
	widths []int      // the layout; -1 for a dropped column
}

func newTable(w *bufio.Writer, cols []column, limit int, wide, fixed bool) *table {
	t := &table{w: w, cols: cols, limit: limit, wide: wide, fixed: fixed, seen: make([]int, len(cols))}
	for i, c := range cols {
		t.seen[i] = textwidth.Width(c.title)
	}
	if fixed {
		natural := make([]int, len(cols))
		for i, c := range cols {
			natural[i] = c.width
		}
		t.widths = t.layout(natural)
	}
	return t
}

// row adds one row; a fixed table writes it at once.
func (t *table) row(cells ...string) {
	var r []string
	if n := len(t.free); n > 0 {
		r, t.free = t.free[n-1][:0], t.free[:n-1]
	}
	for _, c := range cells {
		c = clean(c)
		if c == "" {
			c = "-"
		}
		r = append(r, c)
	}
	if t.fixed {
		t.writeHeader()
		t.writeRow(r)
		t.free = append(t.free, r)
		return
	}
	t.rows = append(t.rows, r)
}

// pending returns the rows waiting for emit.
func (t *table) pending() int { return len(t.rows) }

// emit lays out and writes the rows waiting.
func (t *table) emit() {
	if len(t.rows) == 0 {
		return
	}
	for _, r := range t.rows {
		for i, c := range r {
			if n := textwidth.Width(c); n > t.seen[i] {
				t.seen[i] = n
			}
		}
	}
	t.widths = t.layout(t.seen)
	t.writeHeader()
	for _, r := range t.rows {
		t.writeRow(r)
		t.free = append(t.free, r)
	}
	t.rows = t.rows[:0]
}

func (t *table) writeHeader() {
	if t.header {
		return
	}
	t.header = true
	titles := make([]string, len(t.cols))
	for i, c := range t.cols {
		titles[i] = c.title
	}
	t.writeRow(titles)
}

// writeRow writes cells in the current layout.
func (t *table) writeRow(cells []string) {
	last := -1
	for i := range cells {
		if t.widths[i] >= 0 {
			last = i
		}
	}
	first := true
	for i, c := range cells {
		w := t.widths[i]
		if w < 0 {
			continue
		}
		if !first {
			t.w.WriteString(gap)
		}
		first = false
		n := textwidth.Width(c)
		if n > w && t.cuts(i) {
			c = t.cut(i, c, w)
			n = textwidth.Width(c)
		}
		t.w.WriteString(c)
		if i != last && n < w {
			t.w.WriteString(spaces(w - n))
		}
	}
	t.w.WriteByte('\n')
}

// cuts reports whether cells of column i wider than it are cut: always
// when lines have a limit, in a fixed layout for clipped columns, never
// when the table is wide.
func (t *table) cuts(i int) bool {
	switch {
	case t.wide:
		return false
	case t.limit > 0:
		return true
	}
	return t.fixed && t.cols[i].clip
}

func (t *table) cut(i int, s string, w int) string {
	if f := t.cols[i].cut; f != nil {
		return f(s, w)
	}
	return textwidth.Cut(s, w)
}

// gap separates columns.
const gap = "  "

var blanks = strings.Repeat(" ", 256)

func spaces(n int) string {
	if n <= len(blanks) {
		return blanks[:n]
	}
	return strings.Repeat(" ", n)
}

// layout returns each column's width for natural widths: all of them when
// there is no limit or the table is wide; otherwise, narrowed in shrink
// order down to their min, then with columns dropped in drop order until
// the line fits.
func (t *table) layout(natural []int) []int {
	widths := slices.Clone(natural)
	if t.limit <= 0 || t.wide {
		return widths
	}
	shown := make([]bool, len(t.cols))
	for i := range shown {
		shown[i] = true
	}
	shrinkOrder := make([]int, len(t.cols))
	for i := range shrinkOrder {
		shrinkOrder[i] = i
	}
	slices.SortStableFunc(shrinkOrder, func(a, b int) int { return t.cols[a].shrink - t.cols[b].shrink })
	for {
		copy(widths, natural)
		total, count, last := 0, 0, -1
		for i, ok := range shown {
			if ok {
				total += widths[i]
				count++
				last = i
			}
		}
		total += len(gap) * (count - 1)
		excess := total - t.limit
		for _, i := range shrinkOrder {
			if excess <= 0 {
				break
			}
			if !shown[i] || widths[i] <= t.cols[i].min {
				continue
			}
			take := min(excess, widths[i]-t.cols[i].min)
			widths[i] -= take
			excess -= take
		}
		if excess <= 0 {
			for i, ok := range shown {
				if !ok {
					widths[i] = -1
				}
			}
			return widths
		}
		victim := -1
		for i, ok := range shown {
			if ok && t.cols[i].drop > 0 && (victim < 0 || t.cols[i].drop < t.cols[victim].drop) {
				victim = i
			}
		}
		if victim < 0 {
			// Nothing left to drop: the line stays too wide, its last
			// column cut to what is left.
			for i, ok := range shown {
				if !ok {
					widths[i] = -1
				}
			}
			if last >= 0 {
				widths[last] = max(1, widths[last]-excess)
			}
			return widths
		}
		shown[victim] = false
	}
}
