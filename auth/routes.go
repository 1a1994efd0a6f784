package auth

// Need is one permission a route requires: Action on one resource of Kind, named by a
// path parameter, a fixed name, or the "name" field of the JSON body.
type Need struct {
	Action string
	Kind   string
	// Param is the path parameter holding the resource name.
	Param string
	// Name is a fixed name, such as "*" for list routes (only a permission covering every
	// resource of the kind allows them).
	Name string
	// BodyName takes the name from the request body's "name" field (create routes).
	BodyName bool
	// AnyOfKind is met by Action on any resource of Kind, for routes that name none.
	AnyOfKind bool
}

// Rule is what a route requires: every Need, and, when Quota is set, a token from the
// key's bucket of that quota.
type Rule struct {
	Needs []Need
	Quota string
	// AnyKey lets any valid key call the route (documents that are no one's resource).
	AnyKey bool
}

// Quotas a route may draw from.
const (
	QuotaProduce = "produce" // one token per message; the call also takes QuotaProduceBytes
	// QuotaProduceBytes is taken with QuotaProduce: one token per byte of the request body.
	QuotaProduceBytes = "produce_bytes"
	QuotaReceive      = "receive" // one token per call
)

func on(action, kind, param string) Need { return Need{Action: action, Kind: kind, Param: param} }

func all(action, kind string) Need { return Need{Action: action, Kind: kind, Name: "*"} }

func named(action, kind string) Need { return Need{Action: action, Kind: kind, BodyName: true} }

// Routes maps "METHOD path" (echo's :param syntax) to the permissions it requires. Every
// /v1 route the server registers must be here: a registered route missing from the table is
// denied to every key (TestEveryRouteIsInTheAuthTable checks none is missing).
var Routes = map[string]Rule{
	// Topics (httpapi.RegisterAdmin).
	"POST /v1/topics":                               {Needs: []Need{named(ActionAdmin, KindTopic)}},
	"GET /v1/topics":                                {Needs: []Need{all(ActionRead, KindTopic)}},
	"GET /v1/topics/:topic":                         {Needs: []Need{on(ActionRead, KindTopic, "topic")}},
	"DELETE /v1/topics/:topic":                      {Needs: []Need{on(ActionAdmin, KindTopic, "topic")}},
	"GET /v1/topics/:topic/queues":                  {Needs: []Need{on(ActionRead, KindTopic, "topic")}},
	"POST /v1/groups":                               {Needs: []Need{named(ActionAdmin, KindGroup)}},
	"GET /v1/groups":                                {Needs: []Need{all(ActionRead, KindGroup)}},
	"GET /v1/groups/:group":                         {Needs: []Need{on(ActionRead, KindGroup, "group")}},
	"DELETE /v1/groups/:group":                      {Needs: []Need{on(ActionAdmin, KindGroup, "group")}},
	"PUT /v1/groups/:group/subscriptions/:topic":    {Needs: []Need{on(ActionAdmin, KindGroup, "group")}},
	"PATCH /v1/groups/:group/subscriptions/:topic":  {Needs: []Need{on(ActionAdmin, KindGroup, "group")}},
	"DELETE /v1/groups/:group/subscriptions/:topic": {Needs: []Need{on(ActionAdmin, KindGroup, "group")}},

	// Producing (ingest.Service).
	"POST /v1/topics/:topic/messages":     {Needs: []Need{on(ActionProduce, KindTopic, "topic")}, Quota: QuotaProduce},
	"POST /v1/topics/:topic/transactions": {Needs: []Need{on(ActionProduce, KindTopic, "topic")}, Quota: QuotaProduce},
	// Taking back a delayed message is the producer's right, as sending it was.
	"POST /v1/topics/:topic/messages/recall": {Needs: []Need{on(ActionProduce, KindTopic, "topic")}},
	// A transaction id names no topic without a Postgres read; any produce permission on
	// topics is enough (ids are unguessable), see docs/security.md.
	"GET /v1/transactions/:id":                       {Needs: []Need{{Action: ActionProduce, Kind: KindTopic, AnyOfKind: true}}},
	"POST /v1/transactions/:id/commit":               {Needs: []Need{{Action: ActionProduce, Kind: KindTopic, AnyOfKind: true}}},
	"POST /v1/transactions/:id/rollback":             {Needs: []Need{{Action: ActionProduce, Kind: KindTopic, AnyOfKind: true}}},
	"GET /v1/producer-groups/:pg/transaction-checks": {Needs: []Need{on(ActionProduce, KindProducerGroup, "pg")}},

	// Looking messages up (reader.Service).
	"GET /v1/topics/:topic/queues/:queue/messages": {Needs: []Need{on(ActionRead, KindTopic, "topic")}},
	"GET /v1/topics/:topic/messages/:id":           {Needs: []Need{on(ActionRead, KindTopic, "topic")}},
	"GET /v1/topics/:topic/messages/:id/trace":     {Needs: []Need{on(ActionRead, KindTopic, "topic")}},
	"GET /v1/topics/:topic/messages":               {Needs: []Need{on(ActionRead, KindTopic, "topic")}},

	// Consuming (reader.Consumer).
	"POST /v1/groups/:group/topics/:topic/receive":                {Needs: consume, Quota: QuotaReceive},
	"POST /v1/groups/:group/topics/:topic/ack":                    {Needs: consume},
	"POST /v1/groups/:group/topics/:topic/nack":                   {Needs: consume},
	"POST /v1/groups/:group/topics/:topic/change-invisible":       {Needs: consume},
	"POST /v1/groups/:group/topics/:topic/change-invisible-batch": {Needs: consume},
	"POST /v1/groups/:group/topics/:topic/reset":                  {Needs: consume},
	"GET /v1/groups/:group/lag":                                   {Needs: []Need{on(ActionRead, KindGroup, "group")}},
	"GET /v1/groups/:group/lag/history":                           {Needs: []Need{on(ActionRead, KindGroup, "group")}},

	// Keys (this package).
	"POST /v1/keys":            {Needs: []Need{all(ActionAdmin, KindKey)}},
	"GET /v1/keys":             {Needs: []Need{all(ActionAdmin, KindKey)}},
	"DELETE /v1/keys/:id":      {Needs: []Need{on(ActionAdmin, KindKey, "id")}},
	"POST /v1/keys/:id/rotate": {Needs: []Need{on(ActionAdmin, KindKey, "id")}},

	// Operating: settings in place, offset tools, dead-letter redrive (httpapi.RegisterAdmin), and
	// browsing by time (reader.Service). Changes need admin on the resource; reads, read.
	"PATCH /v1/topics/:topic":                                  {Needs: []Need{on(ActionAdmin, KindTopic, "topic")}},
	"PATCH /v1/groups/:group":                                  {Needs: []Need{on(ActionAdmin, KindGroup, "group")}},
	"PUT /v1/groups/:group/topics/:topic/queues/:queue/offset": {Needs: []Need{on(ActionAdmin, KindGroup, "group"), on(ActionRead, KindTopic, "topic")}},
	"POST /v1/groups/:group/skip-backlog":                      {Needs: []Need{on(ActionAdmin, KindGroup, "group")}},
	"POST /v1/groups/:group/copy-offsets/:from":                {Needs: []Need{on(ActionAdmin, KindGroup, "group"), on(ActionRead, KindGroup, "from")}},
	"POST /v1/groups/:group/dead-letters/redrive":              {Needs: []Need{on(ActionAdmin, KindGroup, "group")}},
	"GET /v1/groups/:group/dead-letters/redrive":               {Needs: []Need{on(ActionRead, KindGroup, "group")}},
	"GET /v1/groups/:group/dead-letters/redrive/:task":         {Needs: []Need{on(ActionRead, KindGroup, "group")}},
	"POST /v1/groups/:group/dead-letters/redrive/:task/cancel": {Needs: []Need{on(ActionAdmin, KindGroup, "group")}},
	"POST /v1/groups/:group/topics/:topic/messages/:id/resend": {Needs: []Need{on(ActionAdmin, KindGroup, "group"), on(ActionRead, KindTopic, "topic")}},
	"GET /v1/topics/:topic/browse":                             {Needs: []Need{on(ActionRead, KindTopic, "topic")}},
	"GET /v1/topics/:topic/offsets":                            {Needs: []Need{on(ActionRead, KindTopic, "topic")}},
	// Connected clients (httpapi.RegisterAdmin): who consumes a group, who produces to a topic.
	"GET /v1/groups/:group/clients":   {Needs: []Need{on(ActionRead, KindGroup, "group")}},
	"GET /v1/topics/:topic/producers": {Needs: []Need{on(ActionRead, KindTopic, "topic")}},

	// The API description is no one's resource.
	"GET /v1/openapi.json": {AnyKey: true},
}

var consume = []Need{on(ActionConsume, KindGroup, "group"), on(ActionRead, KindTopic, "topic")}
