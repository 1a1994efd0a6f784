package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// TopicChange changes a topic's settings in place; nil fields stay as they are.
type TopicChange struct {
	// Queues may only grow.
	Queues         *int  `json:"queues,omitempty"`
	RetentionHours *int  `json:"retentionHours,omitempty"`
	LiteTTLMinutes *int  `json:"liteTtlMinutes,omitempty"`
	Trace          *bool `json:"trace,omitempty"`
}

// UpdateTopic changes a topic's settings; its messages and every group's offsets stay.
func (c *Client) UpdateTopic(ctx context.Context, name string, ch TopicChange) (Topic, error) {
	var out Topic
	_, err := c.do(ctx, http.MethodPatch, "/v1/topics/"+url.PathEscape(name), nil, ch, &out)
	return out, err
}

// GroupChange changes a group's settings in place; nil fields stay as they are.
type GroupChange struct {
	DeliveryOrder       *DeliveryOrder `json:"deliveryOrder,omitempty"`
	MaxDeliveryAttempts *int           `json:"maxDeliveryAttempts,omitempty"`
	RetryPolicy         *RetryPolicy   `json:"retryPolicy,omitempty"`
}

// UpdateGroup changes a group's settings; subscriptions, offsets and in-flight messages stay.
func (c *Client) UpdateGroup(ctx context.Context, name string, ch GroupChange) (Group, error) {
	var out Group
	_, err := c.do(ctx, http.MethodPatch, "/v1/groups/"+url.PathEscape(name), nil, ch, &out)
	return out, err
}

// ListGroups returns every consumer group the key may see.
func (c *Client) ListGroups(ctx context.Context) ([]Group, error) {
	var out struct {
		Groups []Group `json:"groups"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/groups", nil, nil, &out)
	return out.Groups, err
}

// OffsetMove is a queue whose group offset an offset tool moved.
type OffsetMove struct {
	Topic     string `json:"topic"`
	QueueID   int    `json:"queueId"`
	LiteTopic string `json:"liteTopic,omitempty"`
	Offset    int64  `json:"offset"`
}

type offsetsResponse struct {
	Queues []OffsetMove `json:"queues"`
}

// SetQueueOffset moves a group's offset on one queue of a topic.
func (c *Client) SetQueueOffset(ctx context.Context, group, topic string, queueID int, offset int64) error {
	path := "/v1/groups/" + url.PathEscape(group) + "/topics/" + url.PathEscape(topic) + "/queues/" + strconv.Itoa(queueID) + "/offset"
	_, err := c.do(ctx, http.MethodPut, path, nil, map[string]int64{"offset": offset}, nil)
	return err
}

// SkipBacklog moves a group to the end of its queues: of topic, or of every topic when
// topic is empty.
func (c *Client) SkipBacklog(ctx context.Context, group, topic string) ([]OffsetMove, error) {
	var out offsetsResponse
	_, err := c.do(ctx, http.MethodPost, "/v1/groups/"+url.PathEscape(group)+"/skip-backlog", nil, map[string]string{"topic": topic}, &out)
	return out.Queues, err
}

// CopyOffsets gives group the consumed offsets of group from.
func (c *Client) CopyOffsets(ctx context.Context, group, from string) ([]OffsetMove, error) {
	var out offsetsResponse
	_, err := c.do(ctx, http.MethodPost, "/v1/groups/"+url.PathEscape(group)+"/copy-offsets/"+url.PathEscape(from), nil, nil, &out)
	return out.Queues, err
}

// QueueOffset is a queue's offset for a time.
type QueueOffset struct {
	QueueID   int    `json:"queueId"`
	LiteTopic string `json:"liteTopic,omitempty"`
	Offset    int64  `json:"offset"`
}

// OffsetsForTime returns, per queue, the first offset stored at or after t.
func (c *Client) OffsetsForTime(ctx context.Context, topic string, t time.Time) ([]QueueOffset, error) {
	var out struct {
		Queues []QueueOffset `json:"queues"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/topics/"+url.PathEscape(topic)+"/offsets", url.Values{"time": {t.Format(time.RFC3339Nano)}}, nil, &out)
	return out.Queues, err
}

// BrowseOptions select a page of a topic's messages by store time. Zero fields take the
// server's defaults (the last hour, newest first, 50 messages).
type BrowseOptions struct {
	From, To    time.Time
	OldestFirst bool
	Limit       int
	// Cursor continues from a previous page's NextCursor.
	Cursor             string
	Tag, Key, Property string
}

// BrowsePage is a page of messages and the cursor of the next ("" on the last).
type BrowsePage struct {
	Messages   []MessageView `json:"messages"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

// Browse returns a page of a topic's messages stored in a time range, over all queues.
func (c *Client) Browse(ctx context.Context, topic string, o BrowseOptions) (BrowsePage, error) {
	q := url.Values{}
	if !o.From.IsZero() {
		q.Set("from", o.From.Format(time.RFC3339Nano))
	}
	if !o.To.IsZero() {
		q.Set("to", o.To.Format(time.RFC3339Nano))
	}
	if o.OldestFirst {
		q.Set("order", "oldest")
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	for k, v := range map[string]string{"cursor": o.Cursor, "tag": o.Tag, "key": o.Key, "property": o.Property} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out BrowsePage
	_, err := c.do(ctx, http.MethodGet, "/v1/topics/"+url.PathEscape(topic)+"/browse", q, nil, &out)
	return out, err
}

// RedriveSpec starts a dead-letter redrive. Zero fields take the defaults: every dead
// letter, to the group's only subscribed topic, at 100 messages a second.
type RedriveSpec struct {
	TargetTopic   string   `json:"targetTopic,omitempty"`
	MessageIDs    []string `json:"messageIds,omitempty"`
	RatePerSecond int      `json:"ratePerSecond,omitempty"`
}

// RedriveTask is a dead-letter redrive and its progress.
type RedriveTask struct {
	ID            string     `json:"id"`
	Group         string     `json:"group"`
	TargetTopic   string     `json:"targetTopic"`
	State         string     `json:"state"`
	Total         int64      `json:"total"`
	Moved         int64      `json:"moved"`
	Skipped       int64      `json:"skipped"`
	RatePerSecond int        `json:"ratePerSecond"`
	Error         string     `json:"error,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	FinishedAt    *time.Time `json:"finishedAt,omitempty"`
}

// Done reports whether the task has ended (succeeded, cancelled or failed).
func (t RedriveTask) Done() bool { return t.State != "RUNNING" }

func redrivePath(group string) string {
	return "/v1/groups/" + url.PathEscape(group) + "/dead-letters/redrive"
}

// StartRedrive starts moving a group's dead letters back to a topic; the task runs on the
// server.
func (c *Client) StartRedrive(ctx context.Context, group string, spec RedriveSpec) (RedriveTask, error) {
	var out RedriveTask
	_, err := c.do(ctx, http.MethodPost, redrivePath(group), nil, spec, &out)
	return out, err
}

// GetRedrive returns a redrive task.
func (c *Client) GetRedrive(ctx context.Context, group, id string) (RedriveTask, error) {
	var out RedriveTask
	_, err := c.do(ctx, http.MethodGet, redrivePath(group)+"/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// ListRedrives returns a group's redrive tasks, newest first.
func (c *Client) ListRedrives(ctx context.Context, group string) ([]RedriveTask, error) {
	var out struct {
		Tasks []RedriveTask `json:"tasks"`
	}
	_, err := c.do(ctx, http.MethodGet, redrivePath(group), nil, nil, &out)
	return out.Tasks, err
}

// CancelRedrive stops a running task where it is.
func (c *Client) CancelRedrive(ctx context.Context, group, id string) (RedriveTask, error) {
	var out RedriveTask
	_, err := c.do(ctx, http.MethodPost, redrivePath(group)+"/"+url.PathEscape(id)+"/cancel", nil, nil, &out)
	return out, err
}

// Resend delivers one stored message to a group again: the group's next receive gets it
// as a new delivery.
func (c *Client) Resend(ctx context.Context, group, topic, messageID string) error {
	path := "/v1/groups/" + url.PathEscape(group) + "/topics/" + url.PathEscape(topic) + "/messages/" + url.PathEscape(messageID) + "/resend"
	_, err := c.do(ctx, http.MethodPost, path, nil, nil, nil)
	return err
}
