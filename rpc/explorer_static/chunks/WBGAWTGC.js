import{a as r,b as o}from"./T72OU6BU.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{r as RailroadAbnfModule,o as createRailroadAbnfServices};
