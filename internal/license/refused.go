package license

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
)

// RefusedAction is the audit action of a refused request of an issuer.
const RefusedAction = "license.refused"

// refused records that the request operation of actor, an issuer, on
// subject (a license identifier or type code) was refused with err, in a
// transaction of its own (the refusal itself wrote nothing), and returns
// err. R-SEC-2 logs every access to license data, refusals included. The
// entry names the kind and the rules broken, never the values sent: those
// may be anyone's personal data. A caller without the issuer role is
// refused before the service (authz), and an error that is no refusal
// (the store unavailable, a bug) is not recorded.
func (s *Service) refused(ctx context.Context, actor *authz.Actor, operation, subject string, err error) error {
	var ae *apperr.Error
	if err == nil || actor == nil || actor.Org == "" || !slices.Contains(actor.Roles, authz.Issuer) || !errors.As(err, &ae) ||
		!slices.Contains([]apperr.Kind{apperr.Invalid, apperr.Conflict, apperr.Forbidden, apperr.NotFound}, ae.Kind) {
		return err
	}
	if operation != "issue" && operation != "add-material" && !slices.Contains(Operations(), Operation(operation)) {
		operation = "unknown" // the caller's text
	}
	var rules []string
	for _, f := range ae.Fields {
		if !slices.Contains(rules, f.Rule) {
			rules = append(rules, f.Rule)
		}
	}
	// The subject is what was asked for, recorded only when it is well
	// formed: a malformed one is the caller's text.
	subject = strings.TrimSpace(subject)
	if ids.ValidateLicenseID(subject) != nil && ids.ValidateLicenseTypeCode(subject) != nil {
		subject = ""
	}
	e := auditlog.Entry{At: s.now(), Actor: actor.AccountID, Org: actor.Org, Action: RefusedAction, Subject: subject,
		Details: map[string]string{"operation": operation, "kind": string(ae.Kind), "rules": strings.Join(rules, ","),
			"fields": strconv.Itoa(len(ae.Fields))}}
	if rerr := s.tx(ctx, func(st Tx) error { return auditlog.Append(ctx, st, e) }); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}
