package steps

import "time"

// SetPushProgressEvery lets a test see registryPush's progress lines on a push of seconds.
func SetPushProgressEvery(d time.Duration) (restore func()) {
	old := pushProgressEvery
	pushProgressEvery = d
	return func() { pushProgressEvery = old }
}
