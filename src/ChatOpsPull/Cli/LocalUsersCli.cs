using System.Globalization;
using ChatOpsPull.Web;

namespace ChatOpsPull.Cli;

/// <summary><c>chatopspull hash-password [--iterations N]</c>: reads a password from standard input, prints its hash for Web:Users.</summary>
public static class LocalUsersCli
{
    public const string Summary = "Read a password from stdin and print its PBKDF2 hash for Web:Users:N:PasswordHash.";

    public static async Task<int> HashPasswordAsync(string[] args, CliIo io)
    {
        var iterations = PasswordHash.DefaultIterations;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--iterations" && i + 1 < args.Length
                && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= PasswordHash.MinimumIterations)
            {
                iterations = n;
                i++;
            }
            else
            {
                await io.Error.WriteLineAsync($"hash-password: unknown option '{args[i]}'. Usage: echo -n PASSWORD | chatopspull hash-password [--iterations N] (N at least {PasswordHash.MinimumIterations}).").ConfigureAwait(false);
                return 2;
            }
        }

        var password = await io.In.ReadLineAsync().ConfigureAwait(false);
        if (string.IsNullOrEmpty(password))
        {
            await io.Error.WriteLineAsync("hash-password: no password on standard input (the first line is the password).").ConfigureAwait(false);
            return 2;
        }

        if (password.Length < 8)
        {
            await io.Error.WriteLineAsync("hash-password: the password must be at least 8 characters.").ConfigureAwait(false);
            return 2;
        }

        await io.Out.WriteLineAsync(PasswordHash.Hash(password, iterations)).ConfigureAwait(false);
        return 0;
    }
}
