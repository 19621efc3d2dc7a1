// Package web is the appliance's local web page and API: a live wallboard, the metrics view,
// the call log with playback and tagging, the abandoned and blocked lists, a JSON API under
// /api/v1, a Server-Sent Events stream of the live bus, and Prometheus /metrics.
//
// TODO: this comment is completed below when the API section is final.
package web
