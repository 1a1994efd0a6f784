package httpapi

import "time"

// LagHistoryResponse is a group's accumulation over the last hour, as the answering reader
// node sampled it.
type LagHistoryResponse struct {
	Group string `json:"group"`
	// IntervalSeconds is the time between samples.
	IntervalSeconds int `json:"intervalSeconds"`
	// Points are the samples, oldest first.
	Points []LagHistoryPoint `json:"points"`
}

// LagHistoryPoint is one sample: the group's accumulation per topic at a time.
type LagHistoryPoint struct {
	Time   time.Time         `json:"time"`
	Topics []LagHistoryTopic `json:"topics"`
}

// LagHistoryTopic is a topic's totals in one sample.
type LagHistoryTopic struct {
	Topic    string `json:"topic"`
	Lag      int64  `json:"lag"`
	Inflight int64  `json:"inflight"`
	Ready    int64  `json:"ready"`
}
