package api

// RedeemPresentation is what redeeming a holder's QR presentation online
// takes: the payload the code holds and, optionally, the matter (事项) the
// using unit uses it for.
type RedeemPresentation struct {
	Payload string `json:"payload" maxLength:"16384" doc:"The QR payload, ZZ1:… (docs/qr-format.md), as the holder's code shows it."`
	Matter  string `json:"matter,omitempty" maxLength:"200" doc:"The matter the license is used for, recorded in the audit log with the use."`
}
