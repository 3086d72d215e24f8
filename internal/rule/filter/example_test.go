package filter_test

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/rule/filter"
)

// A CIS metric filter pasted unchanged from the Security Hub documentation
// (CloudWatch.6, console authentication failures).
func Example() {
	f, err := filter.Compile(`{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	failed := event.MustParse(`{"eventName":"ConsoleLogin","errorMessage":"Failed authentication","responseElements":{"ConsoleLogin":"Failure"}}`)
	ok := event.MustParse(`{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"}}`)
	fmt.Println(f.Match(failed), f.Match(ok))

	names, pinned := f.EventNames()
	fmt.Println(names, pinned)
	fmt.Println(f)

	_, err = filter.Compile(`{ $.eventName ConsoleLogin }`)
	fmt.Println(err)
	// Output:
	// true false
	// [ConsoleLogin] true
	// { $.eventName = "ConsoleLogin" && $.errorMessage = "Failed authentication" }
	// filter: offset 14: expected an operator after $.eventName, got "ConsoleLogin"
}
