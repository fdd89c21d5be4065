// rate-limiter-flexible's index loads every store it supports (Redis, Mongo, DynamoDB …: ≈ 10 MB of
// a process's memory); the server takes the two it uses from their own files, typed as the index types them.
declare module "rate-limiter-flexible/lib/RateLimiterMemory" {
  import { RateLimiterMemory } from "rate-limiter-flexible";
  export = RateLimiterMemory;
}
declare module "rate-limiter-flexible/lib/RateLimiterPostgres" {
  import { RateLimiterPostgres } from "rate-limiter-flexible";
  export = RateLimiterPostgres;
}
declare module "rate-limiter-flexible/lib/RateLimiterRes" {
  import { RateLimiterRes } from "rate-limiter-flexible";
  export = RateLimiterRes;
}
