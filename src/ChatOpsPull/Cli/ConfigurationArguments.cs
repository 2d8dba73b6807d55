namespace ChatOpsPull.Cli;

/// <summary>
/// Checks command-line options the way the configuration's command-line provider reads them
/// (<c>--Key=value</c>, <c>/Key=value</c>, <c>--Key value</c>), because that provider silently ignores what it cannot
/// read: a typo would otherwise start the bot with defaults.
/// </summary>
public static class ConfigurationArguments
{
    /// <summary>Null when every argument is a configuration value; else what is wrong, in a sentence.</summary>
    public static string? Problem(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var isLong = arg.StartsWith("--", StringComparison.Ordinal);
            if (!isLong && !arg.StartsWith('/'))
            {
                return arg.StartsWith('-')
                    ? $"unknown option '{arg}'"
                    : $"unexpected argument '{arg}'";
            }

            var key = arg[(isLong ? 2 : 1)..];
            var equals = key.IndexOf('=', StringComparison.Ordinal);
            if ((equals < 0 ? key : key[..equals]).Length == 0)
            {
                return $"option '{arg}' has no name";
            }

            if (equals < 0)
            {
                if (i + 1 >= args.Count)
                {
                    return $"option '{arg}' needs a value ({arg}=value)";
                }

                i++;
            }
        }

        return null;
    }
}
