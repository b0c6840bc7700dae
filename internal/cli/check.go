package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/ids"
)

// checkCommand validates identifiers offline. Like every verification
// command it exits 0 when valid, 1 when not, 2 on a usage error.
func (a *app) checkCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check an identifier's rules and check character (exit 0 valid, 1 invalid, 2 usage)",
	}
	for _, c := range []struct {
		use, short string
		norm       func(string) string
		validate   func(string) error
	}{
		{"credit-code CODE", "unified social credit code (GB 32100)", ids.NormalizeCreditCode, ids.ValidateCreditCode},
		{"citizen-id NUMBER", "citizen ID number (GB 11643)", ids.NormalizeCitizenID, ids.ValidateCitizenID},
		{"region CODE", "administrative region code (GB/T 2260)", func(s string) string { return s }, ids.ValidateRegion},
	} {
		cmd.AddCommand(&cobra.Command{
			Use:   c.use,
			Short: "Check a " + c.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				v := c.norm(args[0])
				err := c.validate(v)
				var ie *ids.Error
				if err != nil && !errors.As(err, &ie) {
					return err
				}
				out := map[string]any{"value": v, "valid": true}
				line := fmt.Sprintf("%s: %s", v, a.t("cli.valid", nil))
				if ie != nil {
					out["valid"], out["rule"], out["detail"] = false, ie.Rule, ie.Detail
					line = fmt.Sprintf("%s: %s — %s (%s)", v, a.t("cli.invalid", nil), a.t("rule."+ie.Rule, nil), ie.Detail)
				}
				if perr := a.printLine(out, line); perr != nil {
					return perr
				}
				if err != nil {
					return &exitError{code: ExitInvalid}
				}
				return nil
			},
		})
	}
	return cmd
}
