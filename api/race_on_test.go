//go:build race

package api_test

// raceDetector says whether the test binary runs with the race detector.
const raceDetector = true
