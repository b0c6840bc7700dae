package cli

import (
	"errors"
	"regexp"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// flagError words pflag's errors through the catalog, so that a usage error
// is one line in one language, and points at the command's help.
func (a *app) flagError(cmd *cobra.Command, err error) error {
	data := map[string]any{"Cmd": cmd.CommandPath()}
	var (
		notExist *pflag.NotExistError
		required *pflag.ValueRequiredError
		invalid  *pflag.InvalidValueError
		syntax   *pflag.InvalidSyntaxError
	)
	switch {
	case errors.As(err, &notExist):
		data["Flag"] = dashed(notExist.GetSpecifiedName(), notExist.GetSpecifiedShortnames())
		return a.msgErr(ExitUsage, "cli.usage.unknown-flag", data)
	case errors.As(err, &required):
		data["Flag"] = dashed(required.GetSpecifiedName(), required.GetSpecifiedShortnames())
		return a.msgErr(ExitUsage, "cli.usage.flag-needs-value", data)
	case errors.As(err, &invalid):
		// A flag value that checks itself (a token's --ttl) and parses but
		// breaks a rule names the field and the rule, as the API would; one
		// that does not parse is worded as any other flag's.
		var ae *apperr.Error
		if errors.As(err, &ae) && len(ae.Fields) > 0 && ae.Fields[0].Rule != "format" {
			return &exitError{code: ExitUsage, err: ae}
		}
		f := invalid.GetFlag()
		data["Flag"], data["Value"] = "--"+f.Name, invalid.GetValue()
		id := "cli.usage.flag-invalid"
		switch f.Value.Type() {
		case "duration", "int", "bool":
			id += "-" + f.Value.Type()
		}
		return a.msgErr(ExitUsage, id, data)
	case errors.As(err, &syntax):
		data["Flag"] = syntax.GetSpecifiedFlag()
		return a.msgErr(ExitUsage, "cli.usage.flag-syntax", data)
	}
	return &exitError{code: ExitUsage, err: err}
}

// dashed spells a flag as it was typed: --name or -n.
func dashed(name, short string) string {
	if name != "" {
		return "--" + name
	}
	return "-" + short
}

// wrapArgs makes every command's argument check say, in the user's
// language, what the command takes: its usage line.
func wrapArgs(c *cobra.Command, a *app) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return a.msgErr(ExitUsage, "cli.usage.args", map[string]any{
					"Cmd": cmd.CommandPath(), "Got": len(args), "Usage": cmd.UseLine(),
				})
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub, a)
	}
}

// unknownCommand matches cobra's refusal of a command it does not know,
// which comes before any hook of ours can run.
var unknownCommand = regexp.MustCompile(`^unknown command "([^"]*)" for "([^"]*)"`)

// cobraError words the errors cobra makes itself.
func (a *app) cobraError(err error) error {
	if m := unknownCommand.FindStringSubmatch(err.Error()); m != nil {
		return a.msgErr(ExitUsage, "cli.usage.unknown-command", map[string]any{"Command": m[1], "Cmd": m[2]})
	}
	return err
}
