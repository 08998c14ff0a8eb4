// Package human writes figures as people read them, for the outbox's
// status page and the command that shows the same figures.
package human

import (
	"fmt"
	"time"
)

// Age is a duration as people read it, to the second under an hour: "45s",
// "4m 12s", "3h 20m", "2d 4h"; "none" for none.
func Age(d time.Duration) string {
	switch {
	case d <= 0:
		return "none"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}
