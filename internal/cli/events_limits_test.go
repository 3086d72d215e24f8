package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/ingest/ingesttest"
)

// TestEventsMaxRecords: an input over --max-records prints the events
// before the limit, says where it stopped, and exits 1; 0 lifts the limit.
func TestEventsMaxRecords(t *testing.T) {
	name := filepath.Join(t.TempDir(), "many.json.gz")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	ingesttest.WriteRepeatedLog(t, f, 5, ingesttest.TinyRecord)
	f.Close()

	out, errOut, code := runEvents(t, "", "--format", "json", "--max-records", "2", name)
	if code != 1 || strings.Count(out, "\n") != 2 {
		t.Fatalf("exit %d, %d events:\n%s", code, strings.Count(out, "\n"), errOut)
	}
	want := "trailwatch: " + name + ": stopped at record 2; it and the rest of the input were not read: the input holds more than 2 records, the most one input may\n" +
		"trailwatch: 2 events from 1 input, 0 skipped, 1 error\n"
	if errOut != want {
		t.Errorf("stderr %q\nwant   %q", errOut, want)
	}

	out, errOut, code = runEvents(t, "", "--format", "json", "--max-records", "0", name)
	if code != 0 || strings.Count(out, "\n") != 5 {
		t.Fatalf("exit %d, %d events:\n%s", code, strings.Count(out, "\n"), errOut)
	}
}

// TestEventsErrorFlood: an input of many bad records prints ten errors and
// one line counting the rest, and the summary counts them all.
func TestEventsErrorFlood(t *testing.T) {
	name := filepath.Join(t.TempDir(), "flood.json.gz")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	ingesttest.WriteDeepLog(t, f, 50, 301)
	f.Close()
	_, errOut, code := runEvents(t, "", name)
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	if code != 0 || len(lines) != 12 {
		t.Fatalf("exit %d, %d lines:\n%s", code, len(lines), errOut)
	}
	if lines[10] != "trailwatch: "+name+" record 10: 40 more bad records, the last at record 49, are counted here instead of reported one by one" ||
		lines[11] != "trailwatch: 0 events from 1 input, 0 skipped, 50 errors" {
		t.Errorf("last lines %q", lines[10:])
	}
}
