using System.Net;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Web;

/// <summary>
/// Local sign-in for the bot's web page and the job dashboard: cookie authentication (ASP.NET Core's own handler),
/// users from Web:Users, and the <see cref="Policy"/> policy — a signed-in local user, or, when no users are configured,
/// any request from the loopback address. Browsers are sent to /login; other clients get 401.
/// </summary>
public static class LocalLoginServices
{
    /// <summary>Authorization policy for the web page and dashboard endpoints: <c>.RequireAuthorization(LocalLoginServices.Policy)</c>.</summary>
    public const string Policy = "LocalUser";

    public const string CookieName = "chatopspull.auth";

    public static IServiceCollection AddLocalLogin(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LocalUsersOptions>()
            .Bind(configuration.GetSection(LocalUsersOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<LoginThrottle>();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "chatopspull.antiforgery";
            o.FormFieldName = "__RequestVerificationToken";
        });
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<IOptionsMonitor<LocalUsersOptions>>((cookie, users) =>
            {
                cookie.Cookie.Name = CookieName;
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Strict;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.LoginPath = LoginEndpoints.LoginPath;
                cookie.LogoutPath = LoginEndpoints.LogoutPath;
                cookie.ExpireTimeSpan = users.CurrentValue.SessionLifetime;
                cookie.SlidingExpiration = true;
                cookie.Events.OnRedirectToLogin = context => ChallengeAsync(context, users.CurrentValue);
                cookie.Events.OnRedirectToAccessDenied = context =>
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
            });
        services.AddAuthorizationBuilder()
            .AddPolicy(Policy, policy => policy.AddRequirements(new LocalUserRequirement()));
        services.AddSingleton<IAuthorizationHandler, LocalUserHandler>();
        return services;
    }

    /// <summary>Authentication and authorization middleware, then /login and /logout.</summary>
    public static WebApplication UseLocalLogin(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapLogin();
        return app;
    }

    /// <summary>True when the request comes from this machine (and not through a proxy that says otherwise).</summary>
    public static bool IsLoopback(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address)
        && !context.Request.Headers.ContainsKey("X-Forwarded-For");

    private static Task ChallengeAsync(Microsoft.AspNetCore.Authentication.RedirectContext<CookieAuthenticationOptions> context, LocalUsersOptions users)
    {
        var response = context.Response;
        if (users.Users.Count == 0)
        {
            response.StatusCode = StatusCodes.Status403Forbidden;
            return response.WriteAsync("No local users are configured (Web:Users), so this page is only served to requests from this machine.\n");
        }

        var accept = context.Request.Headers.Accept.ToString();
        if (HttpMethods.IsGet(context.Request.Method) && accept.Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            response.Redirect(context.RedirectUri);
            return Task.CompletedTask;
        }

        response.StatusCode = StatusCodes.Status401Unauthorized;
        response.Headers.WWWAuthenticate = "Cookie realm=\"chatopspull\", login=\"" + LoginEndpoints.LoginPath + "\"";
        return Task.CompletedTask;
    }

    private sealed class LocalUserRequirement : IAuthorizationRequirement;

    private sealed class LocalUserHandler(IOptionsMonitor<LocalUsersOptions> users) : AuthorizationHandler<LocalUserRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, LocalUserRequirement requirement)
        {
            var configured = users.CurrentValue.Users;
            if (configured.Count == 0)
            {
                if (context.Resource is HttpContext http && IsLoopback(http))
                {
                    context.Succeed(requirement);
                }
            }
            else if (context.User.Identity?.IsAuthenticated == true
                && configured.Exists(u => string.Equals(u.Name, context.User.Identity.Name, StringComparison.OrdinalIgnoreCase)))
            {
                // Still a configured user (removing a user from the configuration ends their sessions).
                context.Succeed(requirement);
            }

            return Task.CompletedTask;
        }
    }
}
