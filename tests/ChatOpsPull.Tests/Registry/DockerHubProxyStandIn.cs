using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Tests.Registry;

/// <summary>
/// Two Docker Hub behaviours in front of the real registry (Distribution 2.8 has neither).
/// Tag list pagination as the distribution spec has it: <c>?n=</c> and <c>&amp;last=</c>, tags in lexical order, and
/// <c>Link: &lt;/v2/NAME/tags/list?n=N&amp;last=TAG&gt;; rel="next"</c> while more remain.
/// The pull rate limit: every manifest response carries
/// <c>ratelimit-limit: 100;w=21600</c>, <c>ratelimit-remaining: N;w=21600</c> and <c>docker-ratelimit-source</c>; a GET of
/// a manifest uses one pull (HEAD does not, as on Docker Hub); with none left the answer is 429 with Docker Hub's
/// TOOMANYREQUESTS body. Everything else is passed to the registry unchanged.
/// </summary>
public sealed class DockerHubProxyStandIn : IAsyncDisposable
{
    public const int Limit = 100;
    private const string TooManyRequestsBody =
        """{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limits"}]}""";

    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly bool _openPing;
    private int _remaining = Limit;

    private DockerHubProxyStandIn(WebApplication app, HttpClient upstream, bool openPing)
    {
        _app = app;
        _upstream = upstream;
        _openPing = openPing;
    }

    /// <summary>The port the system picked (the stand-in listens on port 0); known once it has started.</summary>
    public int Port { get; private set; }

    public int Remaining
    {
        get => Volatile.Read(ref _remaining);
        set => Volatile.Write(ref _remaining, value);
    }

    /// <param name="openPing">Answer GET /v2/ with 200 itself, as registries do whose API root is open while repositories are not.</param>
    public static async Task<DockerHubProxyStandIn> StartAsync(Uri upstream, bool openPing = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var proxy = new DockerHubProxyStandIn(app, new HttpClient { BaseAddress = upstream }, openPing);
        app.Run(proxy.ForwardAsync);
        await app.StartAsync().ConfigureAwait(false);
        proxy.Port = BoundPort.Of(app);
        return proxy;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        if (_openPing && context.Request.Path.Value == "/v2/")
        {
            context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{}").ConfigureAwait(false);
            return;
        }

        var isManifest = context.Request.Path.Value?.Contains("/manifests/", StringComparison.Ordinal) == true;
        if (isManifest && HttpMethods.IsGet(context.Request.Method))
        {
            var left = Interlocked.Decrement(ref _remaining);
            if (left < 0)
            {
                Interlocked.Exchange(ref _remaining, 0);
                AddHeaders(context.Response, 0);
                context.Response.StatusCode = 429;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(TooManyRequestsBody).ConfigureAwait(false);
                return;
            }
        }

        var isTags = context.Request.Path.Value?.EndsWith("/tags/list", StringComparison.Ordinal) == true && context.Request.Query.ContainsKey("n");
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), isTags ? context.Request.Path.Value : context.Request.Path + context.Request.QueryString);
        foreach (var (name, values) in context.Request.Headers)
        {
            if (name is not "Host" and not "Content-Length")
            {
                request.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        using var response = await _upstream.SendAsync(request, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (name is not "Transfer-Encoding")
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        if (isManifest)
        {
            AddHeaders(context.Response, Math.Max(Remaining, 0));
        }

        if (isTags && response.IsSuccessStatusCode)
        {
            await PageAsync(context, await response.Content.ReadAsStringAsync().ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }

        await response.Content.CopyToAsync(context.Response.Body).ConfigureAwait(false);
    }

    private static async Task PageAsync(HttpContext context, string fullList)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(fullList);
        var name = doc.RootElement.GetProperty("name").GetString();
        var all = doc.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).Order(StringComparer.Ordinal).ToList();
        var n = int.Parse(context.Request.Query["n"].ToString(), System.Globalization.CultureInfo.InvariantCulture);
        var last = context.Request.Query["last"].ToString();
        var rest = all.Where(t => last.Length == 0 || string.CompareOrdinal(t, last) > 0).ToList();
        var page = rest.Take(n).ToList();
        if (rest.Count > page.Count)
        {
            context.Response.Headers["Link"] = $"</v2/{name}/tags/list?n={n}&last={Uri.EscapeDataString(page[^1])}>; rel=\"next\"";
        }

        context.Response.Headers.ContentLength = null;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsJsonAsync(new { name, tags = page }).ConfigureAwait(false);
    }

    private static void AddHeaders(HttpResponse response, int remaining)
    {
        response.Headers["ratelimit-limit"] = $"{Limit};w=21600";
        response.Headers["ratelimit-remaining"] = $"{remaining};w=21600";
        response.Headers["docker-ratelimit-source"] = "127.0.0.1";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _upstream.Dispose();
    }
}
