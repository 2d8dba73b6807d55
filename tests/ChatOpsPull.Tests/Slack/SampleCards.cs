using ChatOpsPull.Chat.Cards;

namespace ChatOpsPull.Tests.Slack;

/// <summary>Cards shaped like the incident cards the card builder makes.</summary>
public static class SampleCards
{
    public static Card Incident(string key, string title = "ImagePullBackOff: shop/api — tag 1.4.3 not found", string? footer = "Updated 12:04 UTC · checked from the bot's network") =>
        new(
            key,
            title,
            CardTone.Bad,
            "shop/api cannot pull registry.example.com/shop/api:1.4.3 — the tag does not exist",
            [
                new CardFact("Cluster", "prod-eu"),
                new CardFact("Namespace", "shop"),
                new CardFact("Workload", "Deployment/api"),
                new CardFact("Image", "registry.example.com/shop/api:1.4.3"),
                new CardFact("Cause", "Tag not found"),
                new CardFact("Pods", "3 of 3 failing"),
            ],
            [
                CardSection.Markdown("Summary", "The registry answers *MANIFEST_UNKNOWN* for `1.4.3`; `1.4.2` exists & was pulled yesterday."),
                CardSection.List("Evidence",
                [
                    new CardLine("Registry reachable over TLS (42 ms)", LineMark.Passed),
                    new CardLine("Manifest 1.4.3: MANIFEST_UNKNOWN", LineMark.Failed),
                    new CardLine("Nearest tags: 1.4.2, 1.4.1", LineMark.Info),
                    new CardLine("Node disk pressure: not checked", LineMark.Skipped),
                ]),
                CardSection.Code("Runtime message", "Failed to pull image \"registry.example.com/shop/api:1.4.3\": rpc error: code = NotFound desc = failed to resolve reference <manifest unknown>"),
            ],
            [
                new CardAction("Set tag to 1.4.2", new CardActionPayload(CardVerb.Request, "inc-4f2a9c", "set_tag:container=api,tag=1.4.2"), ActionStyle.Primary,
                    new CardConfirm("Change the image?", "Deployment shop/api will roll out 1.4.2.")),
                new CardAction("Roll back", new CardActionPayload(CardVerb.Request, "inc-4f2a9c", "rollback"), ActionStyle.Danger),
                new CardAction("Snooze 1h", new CardActionPayload(CardVerb.Snooze, "inc-4f2a9c", "1h")),
            ])
        {
            Footer = footer,
        };
}
