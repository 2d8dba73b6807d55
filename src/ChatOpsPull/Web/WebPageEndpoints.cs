using System.Globalization;
using System.Text.RegularExpressions;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using ChatOpsPull.Prevention;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Web;

/// <summary>
/// The bot's own page: <c>GET /</c> (cards, failed chat sends, audit log), <c>GET /web/cards</c> (the cards alone, for the
/// page's periodic refresh), <c>POST /web/actions</c> (a card button: antiforgery-checked, handed to the same
/// <see cref="IChatActionHandler"/> as Slack and Teams clicks as user <c>web:&lt;login name&gt;</c>, then
/// post/redirect/get with the answer as a one-time message), and the page's CSS and script from the assembly.
/// All behind the local login policy.
/// </summary>
public static partial class WebPageEndpoints
{
    /// <summary>The web user id for clicks when no users are configured and the page is served to loopback only.</summary>
    public const string LoopbackUser = "local";

    public const string InvalidButton = "This button is not one the bot issued (or it was altered). Nothing was changed.";
    public const string StaleForm = "The form expired or did not come from this page (its antiforgery token is missing or wrong). Reload the page and try again. Nothing was changed.";
    public const string NoActionHandler = "This bot has no button handler installed, so this click changed nothing.";
    private const int MaxFormBytes = 16 * 1024;

    private const string PageCsp = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static IServiceCollection AddWebPage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebPageOptions>()
            .Bind(configuration.GetSection(WebPageOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<WebFlash>();
        services.AddSingleton<WebAuditPages>();
        services.TryAddSingleton<FixOffer>();
        services.AddSingleton<WebIncidentBoard>();
        services.AddSingleton<WebCardsCache>();
        services.AddSingleton<IIncidentNotifier>(sp => sp.GetRequiredService<WebCardsCache>());
        services.AddSingleton<IPreventionNotifier>(sp => sp.GetRequiredService<WebCardsCache>());
        return services;
    }

    public static IEndpointRouteBuilder MapWebPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", PageAsync).RequireAuthorization(LocalLoginServices.Policy);
        app.MapGet(WebPageView.CardsPath, CardsAsync).RequireAuthorization(LocalLoginServices.Policy);
        app.MapPost(WebPageView.ActionPath, ActAsync).RequireAuthorization(LocalLoginServices.Policy).DisableAntiforgery();
        app.MapGet(WebPageView.StylePath, () => Asset("page.css", "text/css; charset=utf-8"));
        app.MapGet(WebPageView.ScriptPath, () => Asset("page.js", "text/javascript; charset=utf-8"));
        return app;
    }

    private static async Task<IResult> PageAsync(
        HttpContext context,
        IAntiforgery antiforgery,
        WebCardsCache cards,
        WebAuditPages audit,
        ChatOutbox outbox,
        WebFlash flash,
        IOptionsMonitor<WebPageOptions> options,
        IOptionsMonitor<BotOptions> bot,
        TimeProvider time)
    {
        var settings = options.CurrentValue;
        long? before = null;
        var beforeText = context.Request.Query["auditBefore"].ToString();
        if (beforeText.Length > 0)
        {
            if (!long.TryParse(beforeText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed <= 0)
            {
                return Html(WebPageView.Problem("auditBefore must be a positive audit line number."), StatusCodes.Status400BadRequest, context);
            }

            before = parsed;
        }

        var tokens = antiforgery.GetAndStoreTokens(context);
        var ct = context.RequestAborted;
        var model = new WebPageModel(
            bot.CurrentValue.Cluster,
            UserName(context),
            flash.Take(context),
            await cards.GetAsync(ct).ConfigureAwait(false),
            await outbox.RecentFailuresAsync(settings.FailedSendsShown, ct).ConfigureAwait(false),
            await audit.ReadAsync(before, settings.AuditPageSize, ct).ConfigureAwait(false),
            before,
            settings.RefreshInterval,
            tokens.FormFieldName,
            tokens.RequestToken ?? string.Empty,
            time.GetUtcNow());
        return Html(WebPageView.Page(model, JobsServices.DashboardPath), StatusCodes.Status200OK, context);
    }

    /// <summary>The cards alone, rendered once per version (<see cref="WebCardsCache"/>) with this viewer's token written in.</summary>
    private static async Task CardsAsync(HttpContext context, IAntiforgery antiforgery, WebCardsCache cache)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var cards = await cache.GetAsync(context.RequestAborted).ConfigureAwait(false);
        var token = WebCardsHtml.EncodeToken(tokens.RequestToken ?? string.Empty);
        SecureHeaders(context);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.ContentLength = cards.Length(token.Length);
        await cards.WriteAsync(context.Response.BodyWriter, token, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<IResult> ActAsync(HttpContext context, IAntiforgery antiforgery, WebFlash flash, IServiceProvider services, ILoggerFactory loggers)
    {
        var log = loggers.CreateLogger(typeof(WebPageEndpoints));
        if (context.Request.ContentLength is null or > MaxFormBytes)
        {
            return Html(WebPageView.Problem("The button's form is missing its length or is too large. Nothing was changed."), StatusCodes.Status413PayloadTooLarge, context);
        }

        if (!context.Request.HasFormContentType)
        {
            return Html(WebPageView.Problem("Buttons send a form (application/x-www-form-urlencoded). Nothing was changed."), StatusCodes.Status415UnsupportedMediaType, context);
        }

        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            LogForged(log, UserName(context) ?? LoopbackUser);
            return Html(WebPageView.Problem(StaleForm), StatusCodes.Status400BadRequest, context);
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        if (!CardActionPayload.TryParse(form["payload"].ToString(), out var payload))
        {
            LogInvalidButton(log, UserName(context) ?? LoopbackUser);
            return Html(WebPageView.Problem(InvalidButton), StatusCodes.Status400BadRequest, context);
        }

        var cardText = form["card"].ToString();
        var cardKey = cardText.Length is > 0 and <= 200 && CardKey().IsMatch(cardText) ? cardText : null;
        var handler = services.GetService<IChatActionHandler>();
        string message;
        if (handler is null)
        {
            message = NoActionHandler;
        }
        else
        {
            var name = UserName(context);
            var user = new ChatUser(ChatPlatform.Web, name ?? LoopbackUser, name ?? "local user", []);
            try
            {
                var reply = await handler.HandleAsync(new ChatActionRequest(user, payload, "web", cardKey), context.RequestAborted).ConfigureAwait(false);
                message = string.IsNullOrWhiteSpace(reply.Text) ? "Done." : reply.Text;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
            {
                LogHandlerFailed(log, ex, CardActionPayload.VerbName(payload.Verb));
                message = "Sorry, handling that click failed on the bot's side; nothing was changed that I know of. The error is in the bot's log.";
            }

            // The clicker's next page shows what the click did, whatever news it made.
            services.GetRequiredService<WebCardsCache>().Invalidate();
        }

        flash.Set(context, message);
        context.Response.Headers.Location = "/";
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    /// <summary>The signed-in name; null for anonymous loopback access.</summary>
    private static string? UserName(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? name : null;

    private static IResult Html(string body, int status, HttpContext context)
    {
        SecureHeaders(context);
        return Results.Content(body, "text/html; charset=utf-8", statusCode: status);
    }

    private static void SecureHeaders(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.ContentSecurityPolicy = PageCsp;
        context.Response.Headers.XFrameOptions = "DENY";
        context.Response.Headers.XContentTypeOptions = "nosniff";
    }

    private static IResult Asset(string name, string contentType)
    {
        var stream = typeof(WebPageEndpoints).Assembly.GetManifestResourceStream("ChatOpsPull.Web.Assets." + name)
            ?? throw new InvalidOperationException($"The web page asset {name} is not embedded in the assembly.");
        return Results.Stream(stream, contentType);
    }

    [GeneratedRegex("^[a-z]{2,20}:[A-Za-z0-9:._/@-]{1,180}$", RegexOptions.CultureInvariant)]
    private static partial Regex CardKey();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a web button post by {User}: antiforgery token missing or wrong.")]
    private static partial void LogForged(ILogger logger, string user);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a web button post by {User}: its payload is not a valid button payload.")]
    private static partial void LogInvalidButton(ILogger logger, string user);

    [LoggerMessage(Level = LogLevel.Error, Message = "The action handler failed on a web {Verb} click.")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string verb);
}
