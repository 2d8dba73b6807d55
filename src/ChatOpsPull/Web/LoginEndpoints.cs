using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Web;

/// <summary>GET/POST /login (a plain form with an antiforgery token) and POST /logout.</summary>
public static partial class LoginEndpoints
{
    public const string LoginPath = "/login";
    public const string LogoutPath = "/logout";
    private const int MaxField = 256;

    public static IEndpointRouteBuilder MapLogin(this IEndpointRouteBuilder app)
    {
        app.MapGet(LoginPath, (HttpContext context, IAntiforgery antiforgery, string? returnUrl) =>
            Page(context, antiforgery, SafeReturnUrl(returnUrl), error: null, StatusCodes.Status200OK));

        app.MapPost(LoginPath, SignInAsync).DisableAntiforgery();
        app.MapPost(LogoutPath, SignOutAsync).DisableAntiforgery();
        return app;
    }

    private static async Task<IResult> SignInAsync(
        HttpContext context,
        IAntiforgery antiforgery,
        IOptionsMonitor<LocalUsersOptions> options,
        LoginThrottle throttle,
        ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(LoginEndpoints));
        if (!context.Request.HasFormContentType)
        {
            return Results.Text("Send the sign-in form (application/x-www-form-urlencoded).\n", "text/plain", statusCode: StatusCodes.Status415UnsupportedMediaType);
        }

        if (context.Request.ContentLength is > 16 * 1024)
        {
            return Results.Text("The sign-in form is too large.\n", "text/plain", statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.Text("The sign-in form expired or did not come from this site; reload /login and try again.\n", "text/plain", statusCode: StatusCodes.Status400BadRequest);
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var name = form["username"].ToString().Trim();
        var password = form["password"].ToString();
        var returnUrl = SafeReturnUrl(form["returnUrl"].ToString());
        if (name.Length is 0 or > MaxField || password.Length is 0 or > MaxField)
        {
            return Page(context, antiforgery, returnUrl, "Enter a user name and a password.", StatusCodes.Status400BadRequest);
        }

        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (throttle.LockedFor(name, address) is { } wait)
        {
            LogLocked(logger, name, address);
            context.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return Page(context, antiforgery, returnUrl, $"Too many failed sign-ins. Try again in {Math.Ceiling(wait.TotalMinutes):0} minute(s).", StatusCodes.Status429TooManyRequests);
        }

        var user = options.CurrentValue.Users.Find(u => string.Equals(u.Name, name, StringComparison.OrdinalIgnoreCase));

        // Always run PBKDF2, even for unknown names, so timing does not tell which names exist.
        var valid = PasswordHash.Verify(password, user?.PasswordHash ?? DummyHash.For(options.CurrentValue.Users)) && user is not null;
        if (!valid)
        {
            var delay = throttle.Failed(name, address);
            LogFailed(logger, name, address);
            await Task.Delay(delay, context.RequestAborted).ConfigureAwait(false);
            return Page(context, antiforgery, returnUrl, "Wrong user name or password.", StatusCodes.Status401Unauthorized);
        }

        throttle.Succeeded(name);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user!.Name)], CookieAuthenticationDefaults.AuthenticationScheme);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity)).ConfigureAwait(false);
        LogSignedIn(logger, user.Name, address);
        return Results.Redirect(returnUrl);
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, IAntiforgery antiforgery)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.Text("Sign out from the bot's own pages (the form token is missing or stale).\n", "text/plain", statusCode: StatusCodes.Status400BadRequest);
        }

        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
        return Results.Redirect(LoginPath);
    }

    /// <summary>Only paths on this site ("/hangfire"), never "//evil.example" or "https://…".</summary>
    public static string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.Length < 1024 && returnUrl[0] == '/'
        && (returnUrl.Length == 1 || (returnUrl[1] != '/' && returnUrl[1] != '\\'))
        && !returnUrl.Any(char.IsControl)
            ? returnUrl
            : "/";

    private static IResult Page(HttpContext context, IAntiforgery antiforgery, string returnUrl, string? error, int status)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var html = HtmlEncoder.Default;
        var body = $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Sign in · ChatOpsPull</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1.2rem}.error{color:#b00020}</style>
            </head><body>
            <h1>ChatOpsPull</h1>
            {{(error is null ? string.Empty : $"<p class=\"error\" role=\"alert\">{html.Encode(error)}</p>")}}
            <form method="post" action="{{LoginPath}}">
            <input type="hidden" name="{{html.Encode(tokens.FormFieldName)}}" value="{{html.Encode(tokens.RequestToken ?? string.Empty)}}">
            <input type="hidden" name="returnUrl" value="{{html.Encode(returnUrl)}}">
            <label for="username">User name</label><input id="username" name="username" autocomplete="username" required maxlength="{{MaxField}}" autofocus>
            <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="{{MaxField}}">
            <button type="submit">Sign in</button>
            </form>
            </body></html>
            """;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        context.Response.Headers.XFrameOptions = "DENY";
        return Results.Content(body, "text/html; charset=utf-8", statusCode: status);
    }

    /// <summary>A hash nobody knows the password of, as costly as the configured users' hashes.</summary>
    private static class DummyHash
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> ByIterations = new();

        public static string For(List<LocalUser> users)
        {
            var iterations = users.Count == 0 ? PasswordHash.MinimumIterations : users.Max(u => IterationsOf(u.PasswordHash));
            return ByIterations.GetOrAdd(iterations, n => PasswordHash.Hash(Guid.NewGuid().ToString(), n));
        }

        private static int IterationsOf(string hash)
        {
            var parts = hash.Split('$');
            return parts.Length == 4 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                ? Math.Clamp(n, PasswordHash.MinimumIterations, 10_000_000)
                : PasswordHash.DefaultIterations;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed sign-in for {User} from {Address}")]
    private static partial void LogFailed(ILogger logger, string user, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sign-in for {User} from {Address} refused: locked after too many failures")]
    private static partial void LogLocked(ILogger logger, string user, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "{User} signed in from {Address}")]
    private static partial void LogSignedIn(ILogger logger, string user, string address);
}
