import { describe, expect, it } from "vitest";
import { builtin } from "../test/fake-backend";
import { readSetupForm, secretField } from "./provider-setup";

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [k, v] of Object.entries(fields)) data.set(k, v);
  return data;
}

describe("readSetupForm", () => {
  const gitlab = builtin("gitlab");
  const github = builtin("github");

  it("trims, keeps filled parameters and drops blank ones", () => {
    expect(readSetupForm(gitlab, gitlab.setup!, "setup", form({ client_id: " id ", "param-base": " https://git.corp " }))).toEqual({
      settings: { provider_id: "gitlab", client_id: "id", params: { base: "https://git.corp" } },
      clientSecret: null,
    });
    expect(readSetupForm(gitlab, gitlab.setup!, "setup", form({ client_id: "id", "param-base": "  " }))).toEqual({
      settings: { provider_id: "gitlab", client_id: "id", params: {} },
      clientSecret: null,
    });
  });

  it("ignores fields the guide does not list, and a secret the provider takes none of", () => {
    const read = readSetupForm(gitlab, gitlab.setup!, "setup", form({ client_id: "id", "param-evil": "x", client_secret: "s" }));
    expect(read).toEqual({ settings: { provider_id: "gitlab", client_id: "id", params: {} }, clientSecret: null });
  });

  it("requires the secret when setting up a provider that needs one, not when changing settings", () => {
    expect(readSetupForm(github, github.setup!, "setup", form({ client_id: "id", client_secret: " " }))).toHaveProperty("problem");
    expect(readSetupForm(github, github.setup!, "settings", form({ client_id: "id", client_secret: "" }))).toEqual({
      settings: { provider_id: "github", client_id: "id", params: {} },
      clientSecret: null,
    });
    expect(readSetupForm(github, github.setup!, "setup", form({ client_id: "id", client_secret: " s " }))).toEqual({
      settings: { provider_id: "github", client_id: "id", params: {} },
      clientSecret: "s",
    });
  });

  it("offers an optional secret field for providers where some apps have one", () => {
    const twitchLike = builtin("gitlab", {
      capabilities: { ...gitlab.capabilities, client_secret: "optional" },
    });
    expect(secretField(twitchLike, twitchLike.setup!)).toBe("optional");
    expect(secretField(gitlab, gitlab.setup!)).toBe("hidden");
    expect(secretField(github, github.setup!)).toBe("required");
    expect(readSetupForm(twitchLike, twitchLike.setup!, "setup", form({ client_id: "id" }))).toEqual({
      settings: { provider_id: "gitlab", client_id: "id", params: {} },
      clientSecret: null,
    });
  });
});
