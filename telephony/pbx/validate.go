package pbx

import (
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// badRequest is a request refused before any handler sees it, with the status that says why.
type badRequest struct {
	code        int
	reason      string
	unsupported []string // 420 only: the option tags we do not support
}

func (e *badRequest) Error() string { return fmt.Sprintf("pbx: refused %d %s", e.code, e.reason) }

// response builds the refusal for req.
func (e *badRequest) response(req *sip.Request) *sip.Response {
	res := sip.NewResponseFromRequest(req, e.code, e.reason, nil)
	if len(e.unsupported) > 0 {
		res.AppendHeader(sip.NewHeader("Unsupported", strings.Join(e.unsupported, ", ")))
	}
	return res
}

// checkRequest applies the checks RFC 3261 section 8.2 asks of a UAS before it looks at a request
// (RFC 4475's torture messages mcl01, mismatch01, bext01 and unkscm exercise them). It is not called
// for ACK and CANCEL, which the transaction layer handles and which get no such answers.
func checkRequest(req *sip.Request) error {
	// RFC 3261 section 8.2.2.1: a Request-URI scheme we do not support gets 416. A tel: URI
	// (RFC 3966) is taken; the call is then routed by its To header and forwarding headers.
	if s := req.Recipient.Scheme; s != "sip" && s != "sips" && s != "tel" {
		return &badRequest{code: 416, reason: "Unsupported URI Scheme"}
	}
	// Section 20.14: one Content-Length. With two, which one frames the body cannot be known.
	if len(req.GetHeaders("Content-Length")) > 1 {
		return &badRequest{code: sip.StatusBadRequest, reason: "Bad Request (multiple Content-Length)"}
	}
	// Section 8.1.1.5: the CSeq method matches the request's.
	if cs := req.CSeq(); cs == nil || cs.MethodName != req.Method {
		return &badRequest{code: sip.StatusBadRequest, reason: "Bad Request (CSeq method mismatch)"}
	}
	// Section 8.2.2.3: the appliance implements no option tags, so every one required is unsupported.
	var tags []string
	for _, h := range req.GetHeaders("Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			if tag = strings.TrimSpace(tag); tag != "" {
				tags = append(tags, tag)
			}
		}
	}
	if len(tags) > 0 {
		return &badRequest{code: 420, reason: "Bad Extension", unsupported: tags}
	}
	return nil
}
