import packageJson from "../../package.json";

export const serverVersion: string = packageJson.version;
