using System.Globalization;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Tests.Teams.FakeConnector;

/// <summary>
/// What Teams checks before it accepts a card, as far as it is documented: an AdaptiveCard of a version Teams
/// renders (≤ 1.5), element and action types of that schema, required properties present, the refresh shape of
/// Universal Actions (Action.Execute, at most 60 userIds) and the message size limit.
/// </summary>
public static class AdaptiveCardCheck
{
    /// <summary>Teams: "approximately 28 KB per post", counted as UTF-16.</summary>
    public const int MaxMessageUtf16Bytes = 28 * 1024;

    private static readonly HashSet<string> Elements =
    [
        "TextBlock", "Image", "Media", "RichTextBlock", "Container", "ColumnSet", "Column", "FactSet", "ImageSet", "ActionSet", "Table",
        "Input.Text", "Input.Number", "Input.Date", "Input.Time", "Input.Toggle", "Input.ChoiceSet",
    ];

    private static readonly HashSet<string> Actions =
        ["Action.Execute", "Action.Submit", "Action.OpenUrl", "Action.ShowCard", "Action.ToggleVisibility"];

    private static readonly HashSet<string> ContainerStyles = ["default", "emphasis", "good", "attention", "warning", "accent"];

    private static readonly HashSet<string> ActionStyles = ["default", "positive", "destructive"];

    public static IReadOnlyList<string> Validate(JsonNode? card, bool topLevel = true)
    {
        var errors = new List<string>();
        if (card is not JsonObject root || root["type"]?.GetValue<string>() != "AdaptiveCard")
        {
            errors.Add("attachment content is not an AdaptiveCard");
            return errors;
        }

        if (topLevel)
        {
            var version = root["version"]?.GetValue<string>();
            if (version is null || !decimal.TryParse(version, NumberStyles.Number, CultureInfo.InvariantCulture, out var v) || v > 1.5m || v < 1.0m)
            {
                errors.Add($"card version \"{version}\" is not one Teams renders (1.0–1.5)");
            }

            if (root["refresh"] is JsonObject refresh)
            {
                if (refresh["action"]?["type"]?.GetValue<string>() != "Action.Execute")
                {
                    errors.Add("refresh.action must be an Action.Execute");
                }

                if (refresh["userIds"] is JsonArray users && users.Count > 60)
                {
                    errors.Add("refresh.userIds lists more than 60 users");
                }
            }
        }

        if (root["body"] is not null and not JsonArray)
        {
            errors.Add("body must be an array");
        }

        foreach (var element in root["body"] as JsonArray ?? [])
        {
            CheckElement(element, errors);
        }

        foreach (var action in root["actions"] as JsonArray ?? [])
        {
            CheckAction(action, errors);
        }

        return errors;
    }

    private static void CheckElement(JsonNode? node, List<string> errors)
    {
        var type = node?["type"]?.GetValue<string>();
        if (type is null || !Elements.Contains(type))
        {
            errors.Add($"unknown element type \"{type}\"");
            return;
        }

        switch (type)
        {
            case "TextBlock" when node!["text"] is null:
                errors.Add("TextBlock without text");
                break;
            case "FactSet":
                foreach (var fact in node!["facts"] as JsonArray ?? [])
                {
                    if (fact?["title"] is null || fact["value"] is null)
                    {
                        errors.Add("Fact without title or value");
                    }
                }

                break;
            case "Container":
                if (node!["style"]?.GetValue<string>() is { } style && !ContainerStyles.Contains(style))
                {
                    errors.Add($"unknown container style \"{style}\"");
                }

                foreach (var item in node["items"] as JsonArray ?? [])
                {
                    CheckElement(item, errors);
                }

                break;
            case "ActionSet":
                foreach (var action in node!["actions"] as JsonArray ?? [])
                {
                    CheckAction(action, errors);
                }

                break;
        }
    }

    private static void CheckAction(JsonNode? node, List<string> errors)
    {
        var type = node?["type"]?.GetValue<string>();
        if (type is null || !Actions.Contains(type))
        {
            errors.Add($"unknown action type \"{type}\"");
            return;
        }

        if (node!["style"]?.GetValue<string>() is { } style && !ActionStyles.Contains(style))
        {
            errors.Add($"unknown action style \"{style}\"");
        }

        if (type == "Action.ShowCard")
        {
            errors.AddRange(Validate(node["card"], topLevel: false));
        }
    }
}
