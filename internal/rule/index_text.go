package rule

import (
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/rule/sigma"
)

// automaton finds which of many texts occur in a folded text in one pass
// (Aho-Corasick): rules pinned by a fragment of a field (a user-agent
// fragment, an error-code suffix) are found together, at a cost that does
// not grow with their number.
type automaton struct {
	// class maps a byte to its column in next; bytes no text holds share
	// column 0.
	class [256]uint16
	cols  int
	// next is the transition table: next[state*cols+class] is the state
	// after reading a byte of that class.
	next []int32
	// out lists, for each state, the texts that end there (by number).
	out [][]int32
	// start marks the bytes of unfolded text that may begin a text: from
	// the first state, every other byte leads back to it, so find skips
	// them without walking the table.
	start [256]bool
}

// newAutomaton builds the automaton of texts (folded, non-empty).
func newAutomaton(texts []string) *automaton {
	a := &automaton{}
	cols := 1
	for _, t := range texts {
		for i := 0; i < len(t); i++ {
			if a.class[t[i]] == 0 {
				a.class[t[i]] = uint16(cols)
				cols++
			}
		}
	}
	a.cols = cols
	for _, t := range texts {
		if len(t) == 0 {
			continue
		}
		c := t[0]
		a.start[c] = true
		if 'A' <= c && c <= 'Z' {
			a.start[c+'a'-'A'] = true
		}
	}
	for c := utf8.RuneSelf; c < 256; c++ {
		a.start[c] = true // may fold to anything
	}
	// The trie, one row of next per state; -1 is no edge yet.
	a.next = make([]int32, cols)
	for i := range a.next {
		a.next[i] = -1
	}
	a.out = [][]int32{nil}
	for n, t := range texts {
		s := int32(0)
		for i := 0; i < len(t); i++ {
			c := int32(a.class[t[i]])
			nx := a.next[s*int32(cols)+c]
			if nx < 0 {
				nx = int32(len(a.out))
				a.out = append(a.out, nil)
				for range cols {
					a.next = append(a.next, -1)
				}
				a.next[s*int32(cols)+c] = nx
			}
			s = nx
		}
		a.out[s] = append(a.out[s], int32(n))
	}
	// Breadth first: each missing edge goes where the longest suffix that
	// is a prefix of some text goes, and each state also reports the texts
	// of that suffix.
	fail := make([]int32, len(a.out))
	queue := make([]int32, 0, len(a.out))
	for c := range cols {
		if nx := a.next[c]; nx < 0 {
			a.next[c] = 0
		} else {
			fail[nx] = 0
			queue = append(queue, nx)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		a.out[s] = append(a.out[s], a.out[fail[s]]...)
		for c := range cols {
			i := s*int32(cols) + int32(c)
			f := a.next[fail[s]*int32(cols)+int32(c)]
			if nx := a.next[i]; nx < 0 {
				a.next[i] = f
			} else {
				fail[nx] = f
				queue = append(queue, nx)
			}
		}
	}
	// Mark each edge into a state where texts end, so that find looks at
	// out only there.
	for i, nx := range a.next {
		mark := int32(0)
		if len(a.out[nx]) > 0 {
			mark = 1
		}
		a.next[i] = nx<<1 | mark
	}
	return a
}

// find folds text as sigma.AppendFold does, runs it through the automaton
// and appends to found the number of each text that occurs, once.
func (a *automaton) find(text []byte, found []int32) []int32 {
	var (
		s      int32
		cols   = int32(a.cols)
		next   = a.next
		folded [utf8.UTFMax]byte
	)
	for i := 0; i < len(text); {
		if s == 0 {
			for i < len(text) && !a.start[text[i]] {
				i++
			}
			if i == len(text) {
				break
			}
		}
		b := text[i]
		if b < utf8.RuneSelf {
			if 'a' <= b && b <= 'z' {
				b -= 'a' - 'A'
			}
			// A state's number is shifted left one bit; the low bit says
			// that some text ends there.
			x := next[s*cols+int32(a.class[b])]
			s = x >> 1
			if x&1 != 0 {
				found = a.report(s, found)
			}
			i++
			continue
		}
		_, size := utf8.DecodeRune(text[i:])
		for _, c := range sigma.AppendFold(folded[:0], text[i:i+size]) {
			x := next[s*cols+int32(a.class[c])]
			s = x >> 1
			if x&1 != 0 {
				found = a.report(s, found)
			}
		}
		i += size
	}
	return found
}

// report appends the texts ending in state s that found lacks.
func (a *automaton) report(s int32, found []int32) []int32 {
	for _, n := range a.out[s] {
		if !containsRule(found, n) {
			found = append(found, n)
		}
	}
	return found
}

func containsRule(list []int32, n int32) bool {
	for _, m := range list {
		if m == n {
			return true
		}
	}
	return false
}
