using System.Net;
using ChatOpsPull.Detection.Webhooks.Inbox;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>
/// For tests that assert what the incident engine heard right after a webhook answered: an alert webhook's 200 means
/// "stored in the alert inbox", and the engine hears it when the inbox drain applies it. After a 200 from an alert
/// endpoint this waits until the inbox is empty (applied), so such a test asserts the end state, not a race.
/// </summary>
public sealed class InboxAppliedHandler(AlertInbox inbox) : DelegatingHandler(new SocketsHttpHandler())
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.OK && request.RequestUri?.AbsolutePath.StartsWith("/alerts", StringComparison.Ordinal) == true)
        {
            await Eventually.ValueAsync(() => inbox.CountAsync(cancellationToken), rows => rows == 0, "the alert inbox to be applied");
        }

        return response;
    }
}
